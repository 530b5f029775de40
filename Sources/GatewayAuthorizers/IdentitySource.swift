/// Where an authorizer's identity comes from. Written `header.NAME`, `query.NAME`, `path.NAME`,
/// `cookie.NAME` or `context.routeKey` / `context.httpMethod` / `context.sourceIp` / `context.path`; AWS's
/// spelling (`$request.header.NAME`, `$request.querystring.NAME`, `$context.routeKey`, and
/// `method.request.header.NAME` for REST APIs) is accepted too.
public enum IdentitySource: Sendable, Hashable, CustomStringConvertible {
    /// A header; the name is lower-cased.
    case header(String)
    case query(String)
    case path(String)
    case cookie(String)
    case context(ContextField)

    public enum ContextField: String, Sendable, CaseIterable {
        case routeKey, httpMethod, path, sourceIp
    }

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(parsing text: String) throws(Invalid) {
        var spec = Substring(text)
        for prefix in ["$request.", "method.request.", "$"] where spec.hasPrefix(prefix) {
            spec = spec.dropFirst(prefix.count)
            break
        }
        guard let dot = spec.firstIndex(of: "."), spec.index(after: dot) < spec.endIndex else {
            throw Invalid(description: "identity source '\(text)' is not SOURCE.NAME (header.NAME, query.NAME, path.NAME, cookie.NAME, context.routeKey)")
        }
        let kind = spec[..<dot].lowercased()
        let name = String(spec[spec.index(after: dot)...])
        switch kind {
        case "header": self = .header(name.lowercased())
        case "query", "querystring": self = .query(name)
        case "path": self = .path(name)
        case "cookie": self = .cookie(name)
        case "context":
            guard let field = ContextField(rawValue: name) else {
                let known = ContextField.allCases.map(\.rawValue).joined(separator: ", ")
                throw Invalid(description: "identity source '\(text)': unknown context field (known: \(known))")
            }
            self = .context(field)
        default:
            throw Invalid(description: "identity source '\(text)': unknown source '\(kind)' (header, query, path, cookie, context)")
        }
    }

    public var description: String {
        switch self {
        case .header(let n): return "header.\(n)"
        case .query(let n): return "query.\(n)"
        case .path(let n): return "path.\(n)"
        case .cookie(let n): return "cookie.\(n)"
        case .context(let f): return "context.\(f.rawValue)"
        }
    }
}
