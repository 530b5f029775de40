/// A name looked up in a table on every request (a route key or API key id naming a token
/// bucket, a plan's name), with its hash computed once, where the name is made (when the plan
/// compiles, when the keys load), instead of the string hashed again at every lookup.
/// Equal names have equal hashes; the strings decide equality.
public struct HashedName: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let string: String
    /// `string.hashValue`: stable within the process, which is all a `Dictionary` needs.
    public let hashed: Int

    public init(_ string: String) {
        self.string = string
        self.hashed = string.hashValue
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    public static func == (lhs: HashedName, rhs: HashedName) -> Bool {
        lhs.hashed == rhs.hashed && lhs.string == rhs.string
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(hashed)
    }

    public var description: String { string }
}
