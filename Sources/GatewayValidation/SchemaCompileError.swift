/// A schema that cannot be compiled, with the JSON pointer of the offending (sub)schema.
public struct SchemaCompileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The offending schema's location: document URI plus JSON-pointer fragment.
    public let location: String
    /// The JSON pointer alone, e.g. `/components/schemas/Passenger/properties/phone`.
    public let pointer: String
    public let reason: String

    public init(location: String, pointer: String, reason: String) {
        self.location = location
        self.pointer = pointer
        self.reason = reason
    }

    public var description: String { "schema at \(pointer.isEmpty ? "/" : pointer): \(reason)" }
}
