import GatewayCore

/// A JSON document holding schemas, with the dialect and vocabularies it is compiled with.
final class SchemaDocument {
    let uri: String
    let root: JSONValue
    let dialect: SchemaDialect
    var vocabularies: Vocabularies
    var vocabulariesResolved = false

    init(uri: String, root: JSONValue, dialect: SchemaDialect, vocabularies: Vocabularies = .all) {
        self.uri = uri
        self.root = root
        self.dialect = dialect
        self.vocabularies = vocabularies
    }
}

/// The 2020-12 vocabularies a metaschema enables (`$vocabulary`).
struct Vocabularies: OptionSet, Hashable {
    let rawValue: UInt8
    static let core = Vocabularies(rawValue: 1)
    static let applicator = Vocabularies(rawValue: 2)
    static let unevaluated = Vocabularies(rawValue: 4)
    static let validation = Vocabularies(rawValue: 8)
    static let metaData = Vocabularies(rawValue: 16)
    static let formatAnnotation = Vocabularies(rawValue: 32)
    static let formatAssertion = Vocabularies(rawValue: 64)
    static let content = Vocabularies(rawValue: 128)
    static let all: Vocabularies = [.core, .applicator, .unevaluated, .validation, .metaData, .formatAnnotation, .content]

    static let byURI: [String: Vocabularies] = [
        "https://json-schema.org/draft/2020-12/vocab/core": .core,
        "https://json-schema.org/draft/2020-12/vocab/applicator": .applicator,
        "https://json-schema.org/draft/2020-12/vocab/unevaluated": .unevaluated,
        "https://json-schema.org/draft/2020-12/vocab/validation": .validation,
        "https://json-schema.org/draft/2020-12/vocab/meta-data": .metaData,
        "https://json-schema.org/draft/2020-12/vocab/format-annotation": .formatAnnotation,
        "https://json-schema.org/draft/2020-12/vocab/format-assertion": .formatAssertion,
        "https://json-schema.org/draft/2020-12/vocab/content": .content,
    ]
}
