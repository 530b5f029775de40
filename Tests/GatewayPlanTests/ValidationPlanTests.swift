import Foundation
import GatewayCore
import GatewayPlan
import GatewayValidation
import Testing

/// How the plan compiler turns an operation's parameters and request body into its validator.
@Suite struct ValidationPlanTests {
    static let document = """
    openapi: 3.0.3
    info: {title: t, version: '1'}
    components:
      parameters:
        Page: {name: page, in: query, schema: {type: integer, minimum: 1}}
      requestBodies:
        Thing:
          required: true
          content:
            application/json:
              schema: {type: object, required: [name], properties: {name: {type: string, nullable: true}}}
    paths:
      /things/{id}:
        parameters:
          - {name: id, in: path, required: true, schema: {type: string}}
          - {name: x-trace, in: header, schema: {type: string}}
        post:
          parameters:
            - {name: id, in: path, required: true, schema: {type: integer}}
            - {$ref: '#/components/parameters/Page'}
            - {name: Authorization, in: header, required: true, schema: {type: string}}
          requestBody: {$ref: '#/components/requestBodies/Thing'}
          x-gateway: {function: f.one, maxBodyBytes: 4096, strictQueryParameters: true}
          responses: {'200': {description: ok}}
        get:
          x-gateway: {function: f.one, validate: false}
          responses: {'200': {description: ok}}
      /plain:
        get:
          x-gateway: {function: f.two}
          responses: {'200': {description: ok}}
    """

    @Test func parametersAreMergedAndReferencesFollowed() throws {
        let folder = try RoutesFolder(documents: ["api.yaml": Self.document])
        let plan = try folder.compile()
        let post = try #require(plan.operations.first { $0.method == "POST" })
        let validator = try #require(post.validator)
        #expect(validator.parameters.map { "\($0.location.rawValue) \($0.name)" } == ["path id", "header x-trace", "query page"],
                "the operation's id overrides the path item's; Authorization headers are ignored")
        #expect(validator.parameters[0].validator?.typeHint == .integer)
        #expect(validator.body?.required == true)
        #expect(validator.rejectUnknownQuery)
        #expect(post.maxBodyBytes == 4096)
        let get = try #require(plan.operations.first { $0.method == "GET" && $0.path == "/things/{id}" })
        #expect(get.validator == nil, "validate: false")
        #expect(plan.operations.first { $0.path == "/plain" }?.validator == nil, "nothing to check")
    }

    @Test func styleAndSchemaErrorsNameTheFileAndLine() throws {
        let badStyle = Self.document.replacingOccurrences(of: "{$ref: '#/components/parameters/Page'}",
                                                          with: "{name: q, in: query, style: matrix, schema: {type: string}}")
        let errors = try RoutesFolder(documents: ["api.yaml": badStyle]).errors()
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("style 'matrix' is not allowed in query") == true)
        #expect(errors.first?.line != nil)

        let badPattern = Self.document.replacingOccurrences(of: "{type: integer, minimum: 1}", with: "{type: string, pattern: '['}")
        let patternErrors = try RoutesFolder(documents: ["api.yaml": badPattern]).errors()
        #expect(patternErrors.first?.message.contains("/components/parameters/Page/schema") == true, "\(patternErrors)")
    }
}
