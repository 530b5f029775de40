import GatewayCore

/// The `type` keyword's set of JSON Schema types.
struct JSONTypeSet: OptionSet, Sendable, CustomStringConvertible {
    let rawValue: UInt8
    static let null = JSONTypeSet(rawValue: 1)
    static let boolean = JSONTypeSet(rawValue: 2)
    static let object = JSONTypeSet(rawValue: 4)
    static let array = JSONTypeSet(rawValue: 8)
    static let number = JSONTypeSet(rawValue: 16)
    static let string = JSONTypeSet(rawValue: 32)
    static let integer = JSONTypeSet(rawValue: 64)

    static let names: [(String, JSONTypeSet)] = [
        ("null", .null), ("boolean", .boolean), ("object", .object), ("array", .array),
        ("number", .number), ("string", .string), ("integer", .integer),
    ]

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init?(name: String) {
        guard let entry = Self.names.first(where: { $0.0 == name }) else { return nil }
        self = entry.1
    }

    @inline(__always)
    func admits(_ instance: JSONValue) -> Bool {
        switch instance {
        case .null: return contains(.null)
        case .bool: return contains(.boolean)
        case .string: return contains(.string)
        case .object: return contains(.object)
        case .array: return contains(.array)
        case .int: return !isDisjoint(with: [.number, .integer])
        case .double(let d): return contains(.number) || (contains(.integer) && d.isFinite && d.rounded(.towardZero) == d)
        }
    }

    var description: String {
        let names = Self.names.filter { contains($0.1) }.map(\.0)
        if names.count <= 1 { return names.first ?? "nothing" }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}
