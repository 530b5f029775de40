import Testing
import GatewayCore
import GatewayValidation

@Suite struct ValidatorTests {
    static let passenger: JSONValue = [
        "type": "object",
        "required": ["name", "email", "phone"],
        "additionalProperties": false,
        "properties": [
            "name": ["type": "string", "minLength": 1, "maxLength": 10],
            "email": ["type": "string", "format": "email"],
            "phone": ["type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"],
            "kind": ["enum": ["delay", "cancellation"]],
            "seats": ["type": "integer", "minimum": 1, "maximum": 9],
        ],
    ]

    static func schema(_ passengerSchema: JSONValue = passenger) -> JSONValue {
        ["type": "object", "properties": ["passengers": ["type": "array", "maxItems": 3, "items": passengerSchema]]]
    }

    func errors(_ schema: JSONValue, _ instance: JSONValue, options: ValidationOptions = .request, dialect: SchemaDialect = .draft2020_12,
                maxErrors: Int = 20) throws -> [String] {
        let validator = try SchemaValidator.compile(document: schema, dialect: dialect, options: options)
        let errors = validator.validate(instance, maxErrors: maxErrors)
        #expect(validator.isValid(instance) == errors.isEmpty)
        return errors.map { "\($0.instancePointer): \($0.message)" }
    }

    @Test func messagesCarryTheInstancePointer() throws {
        let instance: JSONValue = ["passengers": [
            ["name": "Ann", "email": "ann@example.com", "phone": "+4915112345678"],
            ["name": "Bartholomew Jr.", "email": "not-an-email", "phone": "123", "seats": 1.5, "kind": "other", "extra": 1],
        ]]
        let found = try errors(Self.schema(), instance)
        #expect(Set(found) == [
            "/passengers/1/name: must be at most 10 characters",
            "/passengers/1/email: is not a valid email",
            "/passengers/1/phone: must match pattern ^\\+[1-9][0-9]{6,14}$",
            "/passengers/1/seats: must be integer",
            "/passengers/1/kind: must be one of: \"delay\", \"cancellation\"",
            "/passengers/1/extra: is not allowed",
        ])
    }

    @Test func requiredIsReportedAtTheMissingProperty() throws {
        let found = try errors(Self.schema(), ["passengers": [["email": "a@b.co", "phone": "+4915112345678"]]])
        #expect(found == ["/passengers/0/name: is required"])
    }

    @Test func errorsAreCappedAtTheLimit() throws {
        let many: JSONValue = ["passengers": .array(Array(repeating: ["name": 1, "email": 2, "phone": 3], count: 3))]
        #expect(try errors(Self.schema(), many, maxErrors: 4).count == 4)
        #expect(try errors(Self.schema(), many, maxErrors: 100).count == 9)
        #expect(try errors(Self.schema(), ["passengers": .array(Array(repeating: [:], count: 4))], maxErrors: 100).contains("/passengers: must have at most 3 items"))
    }

    @Test func numbersCompareByValueAndMultiplesAreExact() throws {
        #expect(try errors(["const": 1], .double(1.0)).isEmpty)
        #expect(try errors(["enum": [1, "a"]], .double(1.0)).isEmpty)
        #expect(try errors(["type": "integer"], .double(3.0)).isEmpty)
        #expect(try errors(["multipleOf": 0.1], .double(0.3)).isEmpty)
        #expect(try errors(["multipleOf": 0.0001], .double(19.99)).isEmpty)
        #expect(try errors(["multipleOf": 0.01], .double(0.075)) == [": must be a multiple of 0.01"])
        #expect(try errors(["maximum": 10], .int(11)) == [": must be <= 10"])
        #expect(try errors(["exclusiveMinimum": 0], .int(0)) == [": must be > 0"])
        #expect(try errors(["uniqueItems": true], [1, 1.0]) == [": must not contain duplicate items (items 0 and 1 are equal)"])
    }

    @Test func combinatorsGiveOneMessage() throws {
        let oneOf: JSONValue = ["oneOf": [["type": "integer"], ["minimum": 2]]]
        #expect(try errors(oneOf, 3) == [": must match exactly one schema in oneOf (matches 0 and 1)"])
        #expect(try errors(oneOf, 1.5) == [": must match exactly one schema in oneOf"])
        #expect(try errors(["anyOf": [["type": "string"], ["type": "null"]]], 1) == [": must match at least one schema in anyOf"])
        #expect(try errors(["not": ["type": "string"]], "x") == [": must not match the schema in not"])
    }

    @Test func refusesReadOnlyPropertiesInRequests() throws {
        let flight: JSONValue = ["type": "object", "properties": ["flightId": ["type": "string", "readOnly": true], "origin": ["type": "string"]]]
        #expect(try errors(flight, ["flightId": "F1", "origin": "FRA"]) == ["/flightId: is read-only"])
        #expect(try errors(flight, ["flightId": "F1"], options: ValidationOptions()).isEmpty)
    }

    @Test func openAPI30NullableAndBooleanExclusiveBounds() throws {
        let dialect = SchemaDialect.draft04(openAPI30: true)
        let nullable: JSONValue = ["type": "string", "nullable": true, "maxLength": 2]
        #expect(try errors(nullable, nil, dialect: dialect).isEmpty)
        #expect(try errors(nullable, "abc", dialect: dialect) == [": must be at most 2 characters"])
        #expect(try errors(["type": "string"], nil, dialect: dialect) == [": must be string"])
        let bounds: JSONValue = ["type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": false]
        #expect(try errors(bounds, 0, dialect: dialect) == [": must be > 0"])
        #expect(try errors(bounds, 10, dialect: dialect).isEmpty)
        // `$ref` siblings are ignored and the OpenAPI annotations are not assertions.
        let document: JSONValue = ["definitions": ["S": ["type": "string"]], "properties": [
            "a": ["$ref": "#/definitions/S", "maxLength": 1],
            "b": ["type": "integer", "discriminator": ["propertyName": "x"], "example": "no", "xml": ["name": "b"], "deprecated": true],
        ]]
        #expect(try errors(document, ["a": "long", "b": 1], dialect: dialect).isEmpty)
        #expect(try errors(document, ["a": 1], dialect: dialect) == ["/a: must be string"])
    }

    @Test func formatAssertionIsAnOption() throws {
        let schema: JSONValue = ["format": "date-time"]
        #expect(try errors(schema, "yesterday") == [": is not a valid date-time"])
        #expect(try errors(schema, "yesterday", options: ValidationOptions(formatAssertion: false)).isEmpty)
        #expect(try errors(schema, "2026-12-01T10:00:00Z").isEmpty)
        #expect(try errors(["format": "uuid"], "2eb8aa08-aa98-11ea-b4aa-73b441d16380").isEmpty)
        #expect(try errors(["format": "int32"], 3_000_000_000) == [": is not a valid int32"])
        #expect(try errors(["format": "byte"], "aGVsbG8=").isEmpty)
        #expect(try errors(["format": "no-such-format"], "x").isEmpty)
    }

    @Test func compileErrorsNameThePointer() {
        #expect {
            _ = try SchemaValidator.compile(document: ["properties": ["phone": ["pattern": "^[0-9"]]])
        } throws: { error in
            (error as? SchemaCompileError)?.pointer == "/properties/phone/pattern" && "\(error)".contains("invalid regular expression")
        }
        #expect {
            _ = try SchemaValidator.compile(document: ["items": ["$ref": "#/$defs/missing"]])
        } throws: { error in
            (error as? SchemaCompileError)?.pointer == "/items/$ref" && "\(error)".contains("cannot resolve $ref #/$defs/missing")
        }
        #expect {
            _ = try SchemaValidator.compile(document: ["minLength": "3"])
        } throws: { error in
            (error as? SchemaCompileError)?.pointer == "/minLength"
        }
    }

    @Test func recursiveSchemasCompileAndValidate() throws {
        let tree: JSONValue = [
            "$defs": ["node": ["type": "object", "required": ["value"], "properties": [
                "value": ["type": "integer"], "children": ["type": "array", "items": ["$ref": "#/$defs/node"]],
            ]]],
            "$ref": "#/$defs/node",
        ]
        let valid: JSONValue = ["value": 1, "children": [["value": 2, "children": [["value": 3]]]]]
        #expect(try errors(tree, valid).isEmpty)
        #expect(try errors(tree, ["value": 1, "children": [["value": 2, "children": [["value": "x"]]]]]) == ["/children/0/children/0/value: must be integer"])
        // A schema that applies itself to the same value would never finish: refused at compile time.
        #expect(throws: SchemaCompileError.self) { try SchemaValidator.compile(document: ["$ref": "#"]) }
        #expect(throws: SchemaCompileError.self) {
            try SchemaValidator.compile(document: ["$defs": ["a": ["anyOf": [["type": "string"], ["$ref": "#/$defs/b"]]], "b": ["allOf": [["$ref": "#/$defs/a"]]]],
                                        "$ref": "#/$defs/a"])
        }
    }

    @Test func compilesASchemaInsideAnOpenAPIDocument() throws {
        let document: JSONValue = [
            "openapi": "3.1.0",
            "paths": ["/flights": ["post": ["requestBody": ["content": ["application/json": ["schema": ["$ref": "#/components/schemas/NewFlight"]]]]]]],
            "components": ["schemas": [
                "NewFlight": ["type": "object", "required": ["origin"], "properties": ["origin": ["type": "string", "pattern": "^[A-Z]{3}$"],
                                                                                      "passengers": ["type": "array", "items": ["$ref": "#/components/schemas/Passenger"]]]],
                "Passenger": ["type": "object", "properties": ["email": ["type": "string", "format": "email"]]],
            ]],
        ]
        let library = SchemaLibrary(document: document, baseURI: "file:///routes/flights.yaml", options: .request)
        let validator = try library.validator(at: "/paths/~1flights/post/requestBody/content/application~1json/schema")
        #expect(validator.isValid(["origin": "FRA", "passengers": [["email": "a@b.de"]]]))
        let errors = validator.validate(["origin": "fra", "passengers": [["email": "nope"]]])
        #expect(errors.map(\.instancePointer) == ["/origin", "/passengers/0/email"])
        #expect(errors[1].schemaLocation == "file:///routes/flights.yaml#/components/schemas/Passenger/properties/email/format")
        #expect(validator.typeHint == .object(properties: ["origin": .string, "passengers": .array(items: .object(properties: ["email": .string]))]))
    }

    @Test func typeHintsFollowRefsAndAllOf() throws {
        let document: JSONValue = ["$defs": ["Id": ["type": "integer", "minimum": 1]], "properties": [
            "id": ["$ref": "#/$defs/Id"], "ids": ["type": "array", "items": ["allOf": [["$ref": "#/$defs/Id"]]]],
            "flag": ["type": ["boolean", "null"]], "free": [:],
        ]]
        let library = SchemaLibrary(document: document, documentIsSchema: true)
        #expect(try library.validator(at: "/properties/id").typeHint == .integer)
        #expect(try library.validator(at: "/properties/ids").typeHint == .array(items: .integer))
        #expect(try library.validator(at: "/properties/flag").typeHint == .boolean)
        #expect(try library.validator(at: "/properties/free").typeHint == .unknown)
    }

    @Test func unevaluatedPropertiesSeeThroughAllOf() throws {
        let schema: JSONValue = ["allOf": [["properties": ["a": true]]], "properties": ["b": true], "unevaluatedProperties": false]
        #expect(try errors(schema, ["a": 1, "b": 2]).isEmpty)
        #expect(try errors(schema, ["a": 1, "c": 2]) == ["/c: is not allowed"])
    }

    @Test func regexFollowsECMAScript() throws {
        let digits = try ECMARegex("^\\d+$")
        #expect(digits.firstMatch(in: "123"))
        #expect(!digits.firstMatch(in: "١٢٣"))
        #expect(!digits.firstMatch(in: "123\n"))
        #expect(try ECMARegex("\\p{Letter}cole").firstMatch(in: "école"))
        #expect(try ECMARegex("(a|b)\\1").firstMatch(in: "xbb"))
        #expect(try ECMARegex("(?<=\\$)\\d+").firstMatch(in: "cost $42"))
        #expect(throws: RegexSyntaxError.self) { try ECMARegex("\\a") }
        #expect(throws: RegexSyntaxError.self) { try ECMARegex("(?i)abc") }
        // Catastrophic backtracking is cut off by the step limit rather than hanging.
        let evil = try ECMARegex("^(a+)+$")
        #expect(!evil.firstMatch(in: String(repeating: "a", count: 40) + "!", stepLimit: 100_000))
    }
}
