import Foundation
import GatewayCore

/// Compares the candidate's answer with legacy's (pure): the status, the listed headers, and the
/// body — JSON structurally (key order ignored, numbers by value), anything else by bytes — after
/// the ignore list and the learned noise.
public struct ResponseComparer: Sendable {
    public struct Response: Sendable {
        public var status: Int
        /// Lowercased names.
        public var headers: [(String, String)]
        public var body: [UInt8]

        public init(status: Int, headers: [(String, String)], body: [UInt8]) {
            self.status = status
            self.headers = headers.map { ($0.0.lowercased(), $0.1) }
            self.body = body
        }

        func header(_ name: String) -> String? {
            let values = headers.filter { $0.0 == name }.map(\.1)
            return values.isEmpty ? nil : values.joined(separator: ", ")
        }

        var isJSON: Bool {
            guard let type = header("content-type")?.lowercased() else { return false }
            return type.hasPrefix("application/json") || type.contains("+json")
        }
    }

    /// One difference: where (`status`, `header.NAME`, or a body JSON pointer; `` for a non-JSON
    /// body), and the two values cut to 200 characters.
    public struct Difference: Sendable, Equatable, Codable {
        public var pointer: String
        public var legacy: String
        public var candidate: String

        public init(pointer: String, legacy: String, candidate: String) {
            self.pointer = pointer
            self.legacy = Self.cut(legacy)
            self.candidate = Self.cut(candidate)
        }

        static func cut(_ text: String) -> String {
            text.count <= 200 ? text : String(text.prefix(200)) + "…"
        }
    }

    /// Headers that differ by nature: never compared.
    public static let neverCompared: Set<String> = [
        "date", "server", "x-request-id", "content-length", "traceparent", "tracestate", "set-cookie",
        "connection", "keep-alive", "transfer-encoding", "age", "expires", "last-modified",
    ]

    public let headers: [String]
    public let ignore: [PointerPattern]

    public init(headers: [String], ignore: [PointerPattern]) {
        self.headers = headers.map { $0.lowercased() }.filter { !Self.neverCompared.contains($0) }
        self.ignore = ignore
    }

    /// The differences, with `noise` (learned patterns) ignored as well.
    public func compare(_ legacy: Response, _ candidate: Response, noise: [PointerPattern] = []) -> [Difference] {
        var out: [Difference] = []
        if legacy.status != candidate.status {
            out.append(Difference(pointer: "status", legacy: "\(legacy.status)", candidate: "\(candidate.status)"))
        }
        let ignored = ignore + noise
        for name in headers where !ignored.contains(where: { $0.kind == .header(name) }) {
            let a = legacy.header(name), b = candidate.header(name)
            if a != b { out.append(Difference(pointer: "header.\(name)", legacy: a ?? "(none)", candidate: b ?? "(none)")) }
        }
        if legacy.isJSON, candidate.isJSON,
           let a = try? JSONParser.parse(legacy.body), let b = try? JSONParser.parse(candidate.body) {
            var path: [String] = []
            diff(a, b, at: &path, ignored: ignored, into: &out)
        } else if legacy.body != candidate.body, !ignored.contains(where: { $0.covers([]) }) {
            out.append(Difference(pointer: "", legacy: Self.text(legacy.body), candidate: Self.text(candidate.body)))
        }
        return out
    }

    /// Walks both values together; `path` is the current pointer's segments (appended and removed
    /// in place). Equal subtrees are skipped at once, so that the cost follows the differences.
    private func diff(_ a: JSONValue, _ b: JSONValue, at path: inout [String], ignored: [PointerPattern],
                      into out: inout [Difference]) {
        if a == b { return }
        if !ignored.isEmpty && ignored.contains(where: { $0.covers(path) }) { return }
        switch (a, b) {
        case (.object(let x), .object(let y)):
            var keys = Array(x.keys)
            for key in y.keys where x[key] == nil { keys.append(key) }
            keys.sort()
            for key in keys {
                path.append(key)
                defer { path.removeLast() }
                switch (x[key], y[key]) {
                case (let l?, let r?): diff(l, r, at: &path, ignored: ignored, into: &out)
                case (let l?, nil):
                    if !ignored.contains(where: { $0.covers(path) }) {
                        out.append(Difference(pointer: PointerPattern.pointer(path), legacy: Self.text(l), candidate: "(absent)"))
                    }
                case (nil, let r?):
                    if !ignored.contains(where: { $0.covers(path) }) {
                        out.append(Difference(pointer: PointerPattern.pointer(path), legacy: "(absent)", candidate: Self.text(r)))
                    }
                case (nil, nil): break
                }
            }
        case (.array(let x), .array(let y)):
            for i in 0..<max(x.count, y.count) {
                path.append(String(i))
                defer { path.removeLast() }
                if i < x.count, i < y.count {
                    diff(x[i], y[i], at: &path, ignored: ignored, into: &out)
                } else if !ignored.contains(where: { $0.covers(path) }) {
                    out.append(Difference(pointer: PointerPattern.pointer(path),
                                          legacy: i < x.count ? Self.text(x[i]) : "(absent)",
                                          candidate: i < y.count ? Self.text(y[i]) : "(absent)"))
                }
            }
        default:
            if !Self.equal(a, b) {
                out.append(Difference(pointer: PointerPattern.pointer(path), legacy: Self.text(a), candidate: Self.text(b)))
            }
        }
    }

    /// Scalars by value: `1` equals `1.0`.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        return a == b
    }

    static func text(_ value: JSONValue) -> String {
        String(decoding: value.serialized(), as: UTF8.self)
    }

    static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(400), as: UTF8.self)
    }
}
