import NIOCore

/// One value of the Redis serialization protocol, RESP2 and RESP3
/// (https://redis.io/docs/latest/develop/reference/protocol-spec/). Error replies are values
/// here; `RedisClient` turns them into `RedisError.server`.
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString(ByteBuffer)
    /// RESP2's null bulk string and null array, RESP3's `_`.
    case null
    case array([RESPValue])
    // RESP3
    case double(Double)
    case boolean(Bool)
    case bigNumber(String)
    case verbatim(String)
    /// Keys and values, alternating.
    case map([RESPValue])
    case set([RESPValue])
    case push([RESPValue])

    /// The text of a simple, bulk or verbatim string.
    public var string: String? {
        switch self {
        case .simpleString(let s), .verbatim(let s), .bigNumber(let s): return s
        case .bulkString(let b): return String(buffer: b)
        case .integer(let i): return String(i)
        default: return nil
        }
    }

    /// An integer reply, or a string that holds one.
    public var int: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulkString, .simpleString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// The elements of an array, set or push; a map's keys and values alternating.
    public var array: [RESPValue]? {
        switch self {
        case .array(let a), .set(let a), .push(let a), .map(let a): return a
        default: return nil
        }
    }

}
