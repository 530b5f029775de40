import GatewayCore

/// Everything one operation checks about a request, compiled once at load: its parameters (path,
/// query, header, cookie) and its body, against the OpenAPI document. The answers use the error
/// contract: 400 with `errors: [{in, name or pointer, message}]`, 415, or nil when the request is
/// the one the document describes.
public final class OperationValidator: Sendable {
    public static let maxErrors = 20

    public let parameters: [ParameterRule]
    public let body: BodyRule?
    /// Query parameters the operation does not declare are refused (`x-gateway: {strictQueryParameters: true}`).
    public let rejectUnknownQuery: Bool
    private let usesQuery: Bool
    private let usesCookies: Bool
    /// Some parameter is read from a header or a cookie: only then does `RequestValues.header` run.
    public let readsHeaders: Bool
    private let queryNames: Set<String>
    private let deepObjectPrefixes: [String]
    private let explodedObjectProperties: Set<String>

    public init(parameters: [ParameterRule], body: BodyRule?, rejectUnknownQuery: Bool = false) {
        self.parameters = parameters
        self.body = body
        self.rejectUnknownQuery = rejectUnknownQuery
        let query = parameters.filter { $0.location == .query }
        usesQuery = !query.isEmpty || rejectUnknownQuery
        usesCookies = parameters.contains { $0.location == .cookie }
        readsHeaders = parameters.contains { $0.location == .header || $0.location == .cookie }
        queryNames = Set(query.map(\.name))
        deepObjectPrefixes = query.filter { $0.style == .deepObject }.map { $0.name + "[" }
        var exploded: Set<String> = []
        for rule in query where rule.style == .form && rule.explode {
            if case .object(let properties)? = rule.validator?.typeHint { exploded.formUnion(properties.keys) }
        }
        explodedObjectProperties = exploded
    }

    /// Whether there is anything to check per request beyond the body.
    public var checksParameters: Bool { !parameters.isEmpty || rejectUnknownQuery }

    // MARK: parameters

    public func validateParameters(_ request: RequestValues) -> GatewayError? {
        let query = usesQuery ? request.queryPairs() : []
        let cookies = usesCookies ? request.cookiePairs() : []
        var missing: [String] = []
        var errors: [GatewayError.FieldError] = []
        for rule in parameters {
            switch ParameterDecoder.decode(rule, path: rule.location == .path ? request.pathValue(rule.name) : nil, query: query,
                                           header: request.header, cookies: cookies) {
            case .missing:
                if rule.required {
                    missing.append(rule.name)
                    errors.append(.init(in: rule.location.rawValue, name: rule.name, message: "is required"))
                }
            case .invalid(let message):
                errors.append(.init(in: rule.location.rawValue, name: rule.name, message: message))
            case .value(let value):
                guard let validator = rule.validator, !validator.isValid(value) else { continue }
                for e in validator.validate(value, maxErrors: Self.maxErrors) {
                    errors.append(.init(in: rule.location.rawValue, name: rule.name,
                                        pointer: e.instancePointer.isEmpty ? nil : e.instancePointer, message: e.message))
                }
            }
        }
        if rejectUnknownQuery {
            for (name, _) in query where !isKnownQueryName(name) {
                errors.append(.init(in: "query", name: name, message: "is not a parameter of this operation"))
            }
        }
        guard !errors.isEmpty else { return nil }
        let capped = Array(errors.prefix(Self.maxErrors))
        if !missing.isEmpty {
            return GatewayError(status: 400, message: "Missing required request parameters: [\(missing.joined(separator: ", "))]",
                                errors: capped)
        }
        return GatewayError(status: 400, message: "Invalid request parameters", errors: capped)
    }

    private func isKnownQueryName(_ name: String) -> Bool {
        queryNames.contains(name) || explodedObjectProperties.contains(name)
            || deepObjectPrefixes.contains { name.hasPrefix($0) && name.hasSuffix("]") }
    }

    // MARK: body

    public static let missingBody = GatewayError(status: 400, message: "Invalid request body",
                                                 errors: [.init(in: "body", message: "is required")])

    /// What to do with the body, from the request head. `contentType` is the request's
    /// `Content-Type`; `bodyExpected` is false when the head says there is no body.
    public func bodyPlan(contentType: String?, bodyExpected: Bool) -> BodyPlan {
        guard let body else { return .pass }
        guard let contentType else {
            guard bodyExpected else { return body.required ? .refuse(Self.missingBody) : .pass }
            // A body without a type is read as JSON when the operation takes JSON (AWS does the same).
            guard let json = body.entries.firstIndex(where: { $0.mediaType.isJSON }) else { return .refuse(.unsupportedMediaType) }
            return body.entries[json].validator == nil ? .pass : .validate(entry: json, form: false)
        }
        guard let type = MediaType(contentType),
              let index = type.bestMatch(in: body.entries.map(\.mediaType)) else {
            return .refuse(.unsupportedMediaType)
        }
        if !bodyExpected && body.required { return .refuse(Self.missingBody) }
        guard body.entries[index].validator != nil, type.isJSON || type.isForm else { return .pass }
        return .validate(entry: index, form: type.isForm)
    }

    /// Checks a whole body read for `plan`'s entry.
    public func validateBody(_ bytes: UnsafeRawBufferPointer, entry: Int, form: Bool) -> GatewayError? {
        guard let body, body.entries.indices.contains(entry) else { return nil }
        if bytes.isEmpty {
            return body.required ? Self.missingBody : nil
        }
        guard let validator = body.entries[entry].validator else { return nil }
        let instance: JSONValue
        if form {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return Self.invalidBody("is not UTF-8 text")
            }
            instance = FormBody.decode(text, hint: validator.typeHint)
        } else {
            do {
                instance = try JSONParser.parse(bytes)
            } catch {
                if let pointer = error.pointer {
                    return GatewayError(status: 400, message: "Invalid request body", errors: [
                        .init(in: "body", pointer: pointer, message: "is a repeated object key"),
                    ])
                }
                return Self.invalidBody("is not valid JSON: \(error.description)")
            }
        }
        if validator.isValid(instance) { return nil }
        let errors = validator.validate(instance, maxErrors: Self.maxErrors).map {
            GatewayError.FieldError(in: "body", pointer: $0.instancePointer, message: $0.message)
        }
        return GatewayError(status: 400, message: "Invalid request body", errors: errors)
    }

    static func invalidBody(_ message: String) -> GatewayError {
        GatewayError(status: 400, message: "Invalid request body", errors: [.init(in: "body", pointer: "", message: message)])
    }
}
