/// Which JSON Schema rules a document follows.
public enum SchemaDialect: Sendable, Hashable {
    /// JSON Schema 2020-12 (OpenAPI 3.1).
    case draft2020_12
    /// JSON Schema draft-04; with `openAPI30` the OpenAPI 3.0 schema object's additions
    /// (`nullable`, annotations like `readOnly`, `discriminator`, `example`).
    case draft04(openAPI30: Bool)

    var isDraft4: Bool {
        if case .draft04 = self { return true }
        return false
    }

    var isOpenAPI30: Bool {
        if case .draft04(let openAPI30) = self { return openAPI30 }
        return false
    }

    /// The keyword holding a schema's identifier.
    var idKeyword: String { isDraft4 ? "id" : "$id" }
}
