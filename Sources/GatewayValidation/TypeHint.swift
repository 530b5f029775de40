/// What a schema says about the type of its instance, for coercing query, path and header strings
/// before validation: `"42"` becomes `42` when the parameter's schema is an integer.
public indirect enum TypeHint: Sendable, Equatable {
    case string
    case integer
    case number
    case boolean
    case null
    /// An array, with its items' hint.
    case array(items: TypeHint)
    /// An object, with the hints of its named properties.
    case object(properties: [String: TypeHint])
    /// No single type declared (or not determinable through `$ref`/`allOf`).
    case unknown
}
