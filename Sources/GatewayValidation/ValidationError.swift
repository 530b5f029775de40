/// One reason an instance failed validation.
public struct ValidationError: Sendable, Hashable, CustomStringConvertible {
    /// JSON pointer into the instance, e.g. `/passengers/0/email` (`""` is the whole instance).
    public let instancePointer: String
    /// Where the failing keyword lives: the document's URI with a JSON-pointer fragment,
    /// e.g. `file:///routes/flights.yaml#/components/schemas/Passenger/properties/email/format`.
    public let schemaLocation: String
    /// The failing keyword, e.g. `format`, `required`, `additionalProperties`.
    public let keyword: String
    /// A short message for developers, e.g. `is not a valid email`.
    public let message: String

    public init(instancePointer: String, schemaLocation: String, keyword: String, message: String) {
        self.instancePointer = instancePointer
        self.schemaLocation = schemaLocation
        self.keyword = keyword
        self.message = message
    }

    public var description: String {
        "\(instancePointer.isEmpty ? "/" : instancePointer): \(message)"
    }
}
