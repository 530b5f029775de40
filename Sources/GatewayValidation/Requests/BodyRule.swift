import GatewayCore

/// A compiled `requestBody`: whether it is required and, per listed media type, its schema.
public struct BodyRule: Sendable {
    public struct Entry: Sendable {
        public var mediaType: MediaType
        /// Nil when the media type has no schema (its bodies are accepted as they are).
        public var validator: SchemaValidator?

        public init(mediaType: MediaType, validator: SchemaValidator?) {
            self.mediaType = mediaType
            self.validator = validator
        }
    }

    public var required: Bool
    public var entries: [Entry]

    public init(required: Bool, entries: [Entry]) {
        self.required = required
        self.entries = entries
    }
}

/// What to do with a request's body, decided from its head.
public enum BodyPlan: Sendable {
    /// Nothing to check: stream it on.
    case pass
    /// Answer now (415, or 400 for a required body that is missing).
    case refuse(GatewayError)
    /// Read the whole body (up to the limit), then `OperationValidator.validateBody`.
    case validate(entry: Int, form: Bool)
}
