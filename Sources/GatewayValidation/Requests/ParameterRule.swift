/// One compiled OpenAPI parameter: where it is, how it is serialized, and its validator.
public struct ParameterRule: Sendable {
    public enum Location: String, Sendable {
        case path, query, header, cookie
    }

    public enum Style: String, Sendable {
        case simple, label, matrix, form, spaceDelimited, pipeDelimited, deepObject
    }

    public var name: String
    public var location: Location
    public var style: Style
    public var explode: Bool
    public var required: Bool
    public var allowEmptyValue: Bool
    /// Validates the decoded value; nil when the parameter has no schema.
    public var validator: SchemaValidator?
    /// The parameter uses `content` with a JSON media type: its value is JSON text.
    public var jsonContent: Bool

    public init(name: String, location: Location, style: Style? = nil, explode: Bool? = nil, required: Bool,
                allowEmptyValue: Bool = false, validator: SchemaValidator?, jsonContent: Bool = false) {
        self.name = location == .header ? name.lowercased() : name
        self.location = location
        let style = style ?? Self.defaultStyle(location)
        self.style = style
        self.explode = explode ?? (style == .form)
        self.required = location == .path ? true : required
        self.allowEmptyValue = allowEmptyValue
        self.validator = validator
        self.jsonContent = jsonContent
    }

    /// OpenAPI's defaults: `simple` for path and header, `form` for query and cookie.
    public static func defaultStyle(_ location: Location) -> Style {
        switch location {
        case .path, .header: return .simple
        case .query, .cookie: return .form
        }
    }

    /// The styles OpenAPI allows for each location.
    public static func allows(_ style: Style, in location: Location) -> Bool {
        switch location {
        case .path: return [.simple, .label, .matrix].contains(style)
        case .query: return [.form, .spaceDelimited, .pipeDelimited, .deepObject].contains(style)
        case .header: return style == .simple
        case .cookie: return style == .form
        }
    }
}
