import GatewayCore
import GatewayValidation
import Testing

/// Parameters (styles, explode, coercion), bodies (media type selection, JSON, forms) and the
/// error contract of `OperationValidator`.
@Suite struct RequestValidationTests {
    static func schema(_ json: JSONValue, dialect: SchemaDialect = .draft2020_12) throws -> SchemaValidator {
        try SchemaValidator.compile(document: json, dialect: dialect, options: .request)
    }

    static func rule(_ name: String, _ location: ParameterRule.Location, _ json: JSONValue?, style: ParameterRule.Style? = nil,
                     explode: Bool? = nil, required: Bool = false, allowEmptyValue: Bool = false,
                     jsonContent: Bool = false) throws -> ParameterRule {
        ParameterRule(name: name, location: location, style: style, explode: explode, required: required,
                      allowEmptyValue: allowEmptyValue, validator: try json.map { try schema($0) }, jsonContent: jsonContent)
    }

    static func request(path: [(String, String)] = [], query: String? = nil, headers: [String: [String]] = [:]) -> RequestValues {
        RequestValues(pathParameters: path, query: query.map { Substring($0) }, header: { headers[$0] ?? [] })
    }

    static let ints: JSONValue = ["type": "array", "items": ["type": "integer"], "maxItems": 3]
    static let point: JSONValue = ["type": "object", "properties": ["x": ["type": "integer"], "y": ["type": "integer"]],
                                   "required": ["x", "y"]]

    // MARK: parameters

    @Test func pathStyles() throws {
        let cases: [(ParameterRule, String, Bool)] = [
            (try Self.rule("id", .path, ["type": "integer"]), "42", true),
            (try Self.rule("id", .path, ["type": "integer"]), "4x", false),
            (try Self.rule("id", .path, Self.ints), "3,4,5", true),
            (try Self.rule("id", .path, Self.ints), "3,4,5,6", false),
            (try Self.rule("id", .path, Self.ints, style: .label), ".3,4,5", true),
            (try Self.rule("id", .path, Self.ints, style: .label, explode: true), ".3.4.5", true),
            (try Self.rule("id", .path, Self.ints, style: .label), "3,4,5", false),
            (try Self.rule("id", .path, Self.ints, style: .matrix), ";id=3,4,5", true),
            (try Self.rule("id", .path, Self.ints, style: .matrix, explode: true), ";id=3;id=4;id=5", true),
            (try Self.rule("p", .path, Self.point), "x,1,y,2", true),
            (try Self.rule("p", .path, Self.point, explode: true), "x=1,y=2", true),
            (try Self.rule("p", .path, Self.point, style: .label, explode: true), ".x=1.y=2", true),
            (try Self.rule("p", .path, Self.point, style: .matrix, explode: true), ";x=1;y=2", true),
            (try Self.rule("p", .path, Self.point, style: .matrix, explode: true), ";x=1", false),
            (try Self.rule("name", .path, ["type": "string", "maxLength": 3]), "a%2Fb", true),
        ]
        for (rule, raw, valid) in cases {
            let validator = OperationValidator(parameters: [rule], body: nil)
            let error = validator.validateParameters(Self.request(path: [(rule.name, raw)]))
            #expect((error == nil) == valid, "\(rule.style) explode=\(rule.explode) \(raw): \(String(describing: error))")
        }
    }

    /// A parameter reads as a number only in JSON's number grammar; other text stays a string
    /// (and fails a numeric schema).
    @Test func numbersFollowJSONsGrammar() throws {
        let number = try Self.rule("n", .path, ["type": "number"])
        let integer = try Self.rule("n", .path, ["type": "integer"])
        let numbers = ["0", "-0", "7", "-12", "3.25", "-0.5", "1e3", "1E+3", "2.5e-2", "12345678901234567890"]
        let notNumbers = ["", "-", "01", "+1", "1.", ".5", "1e", "1e+", "1.2.3", "0x10", "1 ", " 1", "١", "NaN", "Infinity", "--1"]
        for text in numbers {
            let validator = OperationValidator(parameters: [number], body: nil)
            #expect(validator.validateParameters(Self.request(path: [("n", text)])) == nil, "\(text)")
        }
        for text in notNumbers {
            let validator = OperationValidator(parameters: [number], body: nil)
            #expect(validator.validateParameters(Self.request(path: [("n", text)])) != nil, "\(text)")
        }
        for (text, valid) in [("42", true), ("-3", true), ("4.0", true), ("4.5", false), ("4x", false), ("00", false)] {
            let validator = OperationValidator(parameters: [integer], body: nil)
            #expect((validator.validateParameters(Self.request(path: [("n", text)])) == nil) == valid, "\(text)")
        }
    }

    @Test func queryStyles() throws {
        let cases: [(ParameterRule, String, Bool)] = [
            (try Self.rule("ids", .query, Self.ints), "ids=1&ids=2", true),
            (try Self.rule("ids", .query, Self.ints), "ids=1&ids=x", false),
            (try Self.rule("ids", .query, Self.ints, explode: false), "ids=1,2,3", true),
            (try Self.rule("ids", .query, Self.ints, style: .spaceDelimited, explode: false), "ids=1%202%203", true),
            (try Self.rule("ids", .query, Self.ints, style: .pipeDelimited, explode: false), "ids=1|2|3", true),
            (try Self.rule("ids", .query, Self.ints, style: .pipeDelimited, explode: false), "ids=1|2|3|4", false),
            (try Self.rule("p", .query, Self.point), "x=1&y=2", true),
            (try Self.rule("p", .query, Self.point, explode: false), "p=x,1,y,2", true),
            (try Self.rule("p", .query, Self.point, style: .deepObject, explode: true), "p%5Bx%5D=1&p[y]=2", true),
            (try Self.rule("p", .query, Self.point, style: .deepObject, explode: true), "p[x]=1", false),
            (try Self.rule("on", .query, ["type": "boolean"]), "on=true", true),
            (try Self.rule("on", .query, ["type": "boolean"]), "on=yes", false),
            (try Self.rule("q", .query, ["type": "string", "const": "a b+c"]), "q=a+b%2Bc", true),
            (try Self.rule("n", .query, ["type": "number", "maximum": 1.5]), "n=1.25", true),
            (try Self.rule("n", .query, ["type": "number"]), "n=0x10", false),
            (try Self.rule("f", .query, ["type": "object", "required": ["a"]], jsonContent: true), "f=%7B%22a%22%3A1%7D", true),
            (try Self.rule("f", .query, ["type": "object"], jsonContent: true), "f=%7Bnope", false),
        ]
        for (rule, query, valid) in cases {
            let validator = OperationValidator(parameters: [rule], body: nil)
            let error = validator.validateParameters(Self.request(query: query))
            #expect((error == nil) == valid, "\(rule.name) \(rule.style) explode=\(rule.explode) \(query): \(String(describing: error))")
        }
    }

    @Test func headersAndCookies() throws {
        let header = try Self.rule("X-Ids", .header, Self.ints)
        let cookie = try Self.rule("session", .cookie, ["type": "string", "minLength": 4], required: true)
        let validator = OperationValidator(parameters: [header, cookie], body: nil)
        #expect(validator.validateParameters(Self.request(headers: ["x-ids": ["1, 2"], "cookie": ["a=b; session=abcd"]])) == nil)
        let bad = validator.validateParameters(Self.request(headers: ["x-ids": ["1,z"], "cookie": ["session=ab"]]))
        #expect(bad?.message == "Invalid request parameters")
        #expect(bad?.errors.map(\.location).sorted() == ["cookie", "header"])
        #expect(bad?.errors.first { $0.location == "header" }?.pointer == "/1")
    }

    @Test func missingRequiredParametersAreNamed() throws {
        let validator = OperationValidator(parameters: [
            try Self.rule("flightId", .query, ["type": "string"], required: true),
            try Self.rule("x-tenant", .header, ["type": "string"], required: true),
            try Self.rule("page", .query, ["type": "integer"]),
        ], body: nil)
        let error = validator.validateParameters(Self.request(query: "page=2"))
        #expect(error?.status == 400)
        #expect(error?.message == "Missing required request parameters: [flightId, x-tenant]")
        #expect(error?.errors.map(\.message) == ["is required", "is required"])
    }

    @Test func emptyValuesAndUnknownQueryParameters() throws {
        let strict = OperationValidator(parameters: [
            try Self.rule("flag", .query, ["type": "string"], allowEmptyValue: true),
            try Self.rule("name", .query, ["type": "string"]),
            try Self.rule("p", .query, Self.point, style: .deepObject, explode: true),
        ], body: nil, rejectUnknownQuery: true)
        #expect(strict.validateParameters(Self.request(query: "flag=&p[x]=1&p[y]=2")) == nil)
        #expect(strict.validateParameters(Self.request(query: "name="))?.errors.first?.message == "must not be empty")
        let unknown = strict.validateParameters(Self.request(query: "flag=1&debug=true"))
        #expect(unknown?.errors.map(\.name) == ["debug"])
        let lenient = OperationValidator(parameters: [try Self.rule("name", .query, ["type": "string"])], body: nil)
        #expect(lenient.validateParameters(Self.request(query: "debug=true")) == nil, "unknown query parameters are allowed by default")
    }

    @Test func queryPairsAreCutAtAmpersandsAndTheirFirstEqualsSign() throws {
        let name = try Self.rule("name", .query, ["type": "string", "const": "a=b"], required: true)
        let validator = OperationValidator(parameters: [name], body: nil)
        for query in ["name=a=b", "&&name=a=b&", "x&name=a=b", "%6Eame=a%3Db&name=c", "n=1&name=a%3db&name"] {
            #expect(validator.validateParameters(Self.request(query: query)) == nil, "\(query)")
        }
        for query in ["name=a", "names=a=b", "nam=a=b", "name", "=a=b", "&&&", "x=name=a=b", "name=c&name=a=b"] {
            #expect(validator.validateParameters(Self.request(query: query)) != nil, "\(query)")
        }
        // A parameter sent empty first and then with a value: the first value counts, as before.
        let empty = OperationValidator(parameters: [try Self.rule("q", .query, ["type": "string", "maxLength": 0])], body: nil)
        #expect(empty.validateParameters(Self.request(query: "q=&q=b")) == nil)
        #expect(empty.validateParameters(Self.request(query: "q=&q="))?.errors.first?.message == "must not be empty")
        let ids = OperationValidator(parameters: [try Self.rule("ids", .query, Self.ints)], body: nil)
        #expect(ids.validateParameters(Self.request(query: "ids=1&x=y&ids=2&ids=3")) == nil)
        #expect(ids.validateParameters(Self.request(query: "ids=1&ids=2&x=y&ids=3&ids=4")) != nil, "maxItems 3 counts every value")
    }

    // MARK: bodies

    static func bodyValidator(required: Bool = true, _ entries: [(String, JSONValue?)], dialect: SchemaDialect = .draft2020_12) throws -> OperationValidator {
        OperationValidator(parameters: [], body: BodyRule(required: required, entries: try entries.map {
            BodyRule.Entry(mediaType: MediaType($0.0)!, validator: try $0.1.map { try schema($0, dialect: dialect) })
        }))
    }

    func check(_ validator: OperationValidator, _ contentType: String?, _ text: String) -> GatewayError? {
        switch validator.bodyPlan(contentType: contentType, bodyExpected: !text.isEmpty) {
        case .pass: return nil
        case .refuse(let error): return error
        case .validate(let entry, let form):
            return Array(text.utf8).withUnsafeBytes { validator.validateBody($0, entry: entry, form: form) }
        }
    }

    @Test func mediaTypeSelection() throws {
        let object: JSONValue = ["type": "object", "required": ["a"]]
        let v = try Self.bodyValidator([("application/json", object), ("text/*", nil), ("application/xml", nil)])
        #expect(check(v, "application/json; charset=utf-8", #"{"a":1}"#) == nil)
        #expect(check(v, "application/json", #"{"b":1}"#)?.message == "Invalid request body")
        #expect(check(v, "application/problem+json", #"{"b":1}"#)?.status == 400, "+json falls back to application/json")
        #expect(check(v, "text/plain", "anything") == nil, "a wildcard entry without a schema accepts the body")
        #expect(check(v, "application/xml", "<a/>") == nil)
        #expect(check(v, "image/png", "x")?.status == 415)
        #expect(check(v, nil, #"{"b":1}"#)?.status == 400, "a body without a type is read as JSON")
        let any = try Self.bodyValidator([("*/*", nil)])
        #expect(check(any, "image/png", "x") == nil)
        let noJSON = try Self.bodyValidator([("text/plain", nil)])
        #expect(check(noJSON, nil, "x")?.status == 415)
    }

    @Test func requiredBodies() throws {
        let v = try Self.bodyValidator([("application/json", ["type": "object"])])
        #expect(check(v, "application/json", "") == OperationValidator.missingBody)
        #expect(check(v, nil, "") == OperationValidator.missingBody)
        let optional = try Self.bodyValidator(required: false, [("application/json", ["type": "object"])])
        #expect(check(optional, nil, "") == nil)
        #expect(check(optional, "application/json", "") == nil)
        #expect(check(v, "application/json", "[1")?.errors.first?.message.hasPrefix("is not valid JSON") == true)
    }

    @Test func formBodiesAreCoerced() throws {
        let v = try Self.bodyValidator([("application/x-www-form-urlencoded", [
            "type": "object", "required": ["n", "tags"],
            "properties": ["n": ["type": "integer", "minimum": 1], "tags": ["type": "array", "items": ["type": "string"]],
                           "ok": ["type": "boolean"]],
        ])])
        #expect(check(v, "application/x-www-form-urlencoded", "n=3&tags=a&tags=b+c&ok=true") == nil)
        let bad = check(v, "application/x-www-form-urlencoded", "n=0&ok=maybe")
        #expect(Set(bad?.errors.compactMap(\.pointer) ?? []) == ["/n", "/ok", "/tags"])
    }

    @Test func nullableAndReadOnly() throws {
        let schema30: JSONValue = ["type": "object", "properties": [
            "note": ["type": "string", "nullable": true], "id": ["type": "string", "readOnly": true],
        ]]
        let v = try Self.bodyValidator([("application/json", schema30)], dialect: .draft04(openAPI30: true))
        #expect(check(v, "application/json", #"{"note":null}"#) == nil, "nullable admits null in 3.0")
        let readOnly = check(v, "application/json", #"{"id":"x"}"#)
        #expect(readOnly?.errors == [.init(in: "body", pointer: "/id", message: "is read-only")])
        let v31 = try Self.bodyValidator([("application/json", ["type": "object", "properties": ["note": ["type": "string", "nullable": true]]])])
        #expect(check(v31, "application/json", #"{"note":null}"#)?.status == 400, "3.1 has no nullable: null is not a string")
    }

    @Test func theErrorListIsCapped() throws {
        let v = try Self.bodyValidator([("application/json", ["type": "array", "items": ["type": "integer"]])])
        let text = "[" + (0..<50).map { _ in "\"x\"" }.joined(separator: ",") + "]"
        let error = check(v, "application/json", text)
        #expect(error?.errors.count == OperationValidator.maxErrors)
        #expect(error?.errors.first == .init(in: "body", pointer: "/0", message: "must be integer"))
    }
}
