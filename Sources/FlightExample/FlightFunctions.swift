import Foundation
import GatewayCore
import GatewayFunctions

/// The example API's functions: `flights.create`, `flights.notify` and `alerts.list`, sharing one
/// `FlightStore`; and the authorizer `airlines.authorize`. (The new code of the route under
/// migration, `bookings`, is a Python Lambda handler: `functions/bookings/app.py`.)
public enum FlightFunctions {
    public static func register(into registry: inout FunctionRegistry, store: FlightStore = FlightStore()) {
        registry.register("flights.create", CreateFlight(store: store))
        registry.register("flights.notify", NotifyFlight(store: store))
        registry.register("alerts.list", ListAlerts(store: store))
        registry.registerAuthorizer("airlines.authorize", AirlineAuthorizer())
    }

    static func badRequest(_ message: String) -> FunctionResult {
        .response(.json(["message": .string(message)], status: 400))
    }

    static func jsonBody(_ event: FunctionEvent) -> JSONValue? {
        guard let bytes = event.bodyBytes else { return nil }
        return try? JSONValue.parse(Data(bytes))
    }

    static func now() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}

/// `POST /flights`: stores a flight and its passengers, answers 201 with the flight and its id.
public struct CreateFlight: GatewayFunction {
    let store: FlightStore

    public func handle(_ event: FunctionEvent, context: FunctionContext) async throws -> FunctionResult {
        guard let body = FlightFunctions.jsonBody(event)?.objectValue else {
            return FlightFunctions.badRequest("Invalid request body")
        }
        guard let number = body["flightNumber"]?.stringValue, let origin = body["origin"]?.stringValue,
              let destination = body["destination"]?.stringValue, let departure = body["departure"]?.stringValue
        else {
            return FlightFunctions.badRequest("flightNumber, origin, destination and departure are required")
        }
        var passengers: [FlightStore.Passenger] = []
        for item in body["passengers"]?.arrayValue ?? [] {
            guard let p = item.objectValue, let name = p["name"]?.stringValue, let email = p["email"]?.stringValue,
                  let phone = p["phone"]?.stringValue else {
                return FlightFunctions.badRequest("each passenger needs name, email and phone")
            }
            passengers.append(.init(name: name, email: email, phone: phone))
        }
        let flight = await store.add(.init(flightId: "", flightNumber: number, origin: origin,
                                           destination: destination, departure: departure, passengers: passengers))
        context.logger.info("flight created", metadata: ["flightId": "\(flight.flightId)", "requestId": "\(context.requestId)"])
        return .response(.json(flight.json, status: 201, headers: ["location": "/flights/\(flight.flightId)"]))
    }
}

/// `POST /flights/{flightId}/notifications`: a delay or cancellation; records one alert per
/// passenger, with the text message that would be sent.
public struct NotifyFlight: GatewayFunction {
    let store: FlightStore

    public func handle(_ event: FunctionEvent, context: FunctionContext) async throws -> FunctionResult {
        guard let flightId = event.pathParameters?["flightId"] else {
            return FlightFunctions.badRequest("Missing required request parameters: [flightId]")
        }
        guard let body = FlightFunctions.jsonBody(event)?.objectValue, let kind = body["type"]?.stringValue,
              kind == "delay" || kind == "cancellation" else {
            return FlightFunctions.badRequest("type must be delay or cancellation")
        }
        guard let flight = await store.flight(flightId) else {
            return .response(.json(["message": .string("flight \(flightId) not found")], status: 404))
        }
        let reason = body["reason"]?.stringValue.map { " Reason: \($0)." } ?? ""
        let what: String
        if kind == "delay" {
            let minutes = body["delayMinutes"]?.doubleValue.map { Int($0) } ?? 0
            if let newDeparture = body["newDeparture"]?.stringValue {
                what = "is delayed; new departure \(newDeparture)"
            } else {
                what = "is delayed by \(minutes) minutes"
            }
        } else {
            what = "is cancelled"
        }
        let notificationId = await store.nextNotificationId()
        let createdAt = FlightFunctions.now()
        let alerts = flight.passengers.enumerated().map { index, passenger in
            FlightStore.Alert(
                alertId: "\(notificationId)-\(index + 1)", flightId: flightId, notificationId: notificationId,
                kind: kind, passenger: passenger,
                message: "Hello \(passenger.name), flight \(flight.flightNumber) from \(flight.origin) to \(flight.destination) \(what).\(reason)",
                createdAt: createdAt)
        }
        await store.record(alerts)
        return .response(.json([
            "notificationId": .string(notificationId), "flightId": .string(flightId),
            "alerts": .array(alerts.map(\.json)),
        ], status: 201))
    }
}

/// `GET /alerts?flightId=…`: the alerts recorded for a flight. Returns a bare JSON value, which
/// the 2.0 format turns into a 200 JSON response. When an authorizer named the caller's airline
/// (`requestContext.authorizer.lambda.airline`), only that airline's flights are shown.
public struct ListAlerts: GatewayFunction {
    let store: FlightStore

    public func handle(_ event: FunctionEvent, context: FunctionContext) async throws -> FunctionResult {
        let flightId = event.queryStringParameters?["flightId"]
        var alerts = await store.alerts(flightId: flightId)
        if let airline = event.requestContext.authorizer?["lambda"]?["airline"]?.stringValue {
            var flights: [String: Bool] = [:]
            for alert in alerts where flights[alert.flightId] == nil {
                flights[alert.flightId] = await store.flight(alert.flightId)?.flightNumber.hasPrefix(airline) ?? false
            }
            alerts = alerts.filter { flights[$0.flightId] == true }
        }
        return .value(["alerts": .array(alerts.map(\.json))])
    }
}
