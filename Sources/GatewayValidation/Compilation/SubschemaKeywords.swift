/// Which keywords hold subschemas, and in which shape, per dialect.
enum SubschemaKeywords {
    enum Shape {
        case single, list, map
    }

    static func shape(of keyword: String, dialect: SchemaDialect) -> Shape? {
        if dialect.isDraft4 {
            switch keyword {
            case "additionalProperties", "additionalItems", "not": return .single
            case "items", "allOf", "anyOf", "oneOf": return .list
            case "definitions", "properties", "patternProperties", "dependencies": return .map
            default: return nil
            }
        }
        switch keyword {
        case "additionalProperties", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "items",
            "contains", "not", "if", "then", "else", "contentSchema":
            return .single
        case "allOf", "anyOf", "oneOf", "prefixItems": return .list
        case "$defs", "definitions", "properties", "patternProperties", "dependentSchemas", "dependencies": return .map
        default: return nil
        }
    }
}
