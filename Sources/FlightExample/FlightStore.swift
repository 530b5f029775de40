import Foundation
import GatewayCore

/// The example's own data: flights with their passengers, and the alerts sent about them.
/// Kept in memory by the gateway process.
public actor FlightStore {
    public struct Passenger: Sendable, Equatable {
        public var name: String
        public var email: String
        public var phone: String
    }

    public struct Flight: Sendable, Equatable {
        public var flightId: String
        public var flightNumber: String
        public var origin: String
        public var destination: String
        public var departure: String
        public var passengers: [Passenger]
    }

    public struct Alert: Sendable, Equatable {
        public var alertId: String
        public var flightId: String
        public var notificationId: String
        public var kind: String
        public var passenger: Passenger
        public var message: String
        public var createdAt: String
    }

    private var flights: [String: Flight] = [:]
    private var alerts: [Alert] = []
    private var sequence = 0

    public init() {}

    public func add(_ flight: Flight) -> Flight {
        sequence += 1
        var stored = flight
        stored.flightId = "\(flight.flightNumber)-\(sequence)"
        flights[stored.flightId] = stored
        return stored
    }

    public func flight(_ id: String) -> Flight? { flights[id] }

    public func record(_ new: [Alert]) { alerts.append(contentsOf: new) }

    public func alerts(flightId: String?) -> [Alert] {
        guard let flightId else { return alerts }
        return alerts.filter { $0.flightId == flightId }
    }

    public func nextNotificationId() -> String {
        sequence += 1
        return "ntf-\(sequence)"
    }
}

extension FlightStore.Passenger {
    var json: JSONValue { ["name": .string(name), "email": .string(email), "phone": .string(phone)] }
}

extension FlightStore.Flight {
    var json: JSONValue {
        [
            "flightId": .string(flightId), "flightNumber": .string(flightNumber), "origin": .string(origin),
            "destination": .string(destination), "departure": .string(departure),
            "passengers": .array(passengers.map(\.json)),
        ]
    }
}

extension FlightStore.Alert {
    var json: JSONValue {
        [
            "alertId": .string(alertId), "flightId": .string(flightId), "notificationId": .string(notificationId),
            "type": .string(kind), "passenger": passenger.json, "channel": "sms", "to": .string(passenger.phone),
            "message": .string(message), "createdAt": .string(createdAt),
        ]
    }
}
