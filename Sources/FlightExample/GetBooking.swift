import GatewayCore
import GatewayFunctions

/// `GET /bookings/{bookingId}`, the new code for a route the legacy system still serves: the
/// example's route under migration (`routes/flights.yaml`). It answers like the legacy backend
/// (`legacy/backend.py`) — except that it has not learnt the fare class yet, which shadowing shows.
public struct GetBooking: GatewayFunction {
    public init() {}

    public func handle(_ event: FunctionEvent, context: FunctionContext) async throws -> FunctionResult {
        guard let id = event.pathParameters?["bookingId"], let booking = Self.booking(id) else {
            return .response(.json(["message": "No such booking"], status: 404))
        }
        return .response(.json(booking))
    }

    /// The same made-up booking for an id as the legacy backend makes: `B` and a number.
    static func booking(_ id: String) -> JSONValue? {
        guard id.hasPrefix("B"), let n = Int(id.dropFirst()), n > 0 else { return nil }
        let passengers = ["Ada", "Bob", "Chen", "Dana"]
        return .object([
            "bookingId": .string(id),
            "flightId": .string("LH123-1"),
            "passenger": .string(passengers[n % passengers.count]),
            "seat": .string("\(n % 30 + 1)\(["A", "B", "C", "D", "E", "F"][n % 6])"),
            "status": .string("confirmed"),
            "updatedAt": .string(FlightFunctions.now()),
        ])
    }
}
