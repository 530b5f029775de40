/// Choices made when a schema is compiled.
public struct ValidationOptions: Sendable, Hashable {
    /// Whether `format` asserts (the gateway's choice) or is only an annotation (the 2020-12 default).
    public var formatAssertion: Bool
    /// Whether an instance property whose schema says `readOnly: true` is an error (request bodies).
    public var refuseReadOnly: Bool
    /// Whether an instance property whose schema says `writeOnly: true` is an error (response bodies).
    public var refuseWriteOnly: Bool
    /// A bound on the regex engine's backtracking per match; a pattern that needs more fails.
    public var regexStepLimit: Int

    public init(formatAssertion: Bool = false, refuseReadOnly: Bool = false, refuseWriteOnly: Bool = false, regexStepLimit: Int = 1_000_000) {
        self.formatAssertion = formatAssertion
        self.refuseReadOnly = refuseReadOnly
        self.refuseWriteOnly = refuseWriteOnly
        self.regexStepLimit = regexStepLimit
    }

    /// What the gateway uses for request bodies and parameters.
    public static let request = ValidationOptions(formatAssertion: true, refuseReadOnly: true)
}
