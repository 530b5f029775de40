import Foundation
import GatewayCore
import Logging
import NIOConcurrencyHelpers

/// `logs.format: json`: every log line is one JSON object on standard error — `time` (RFC 3339,
/// UTC, milliseconds), `level`, `logger`, `message`, then the line's metadata as fields. Written
/// whole with one `write` per line (standard error is unbuffered), so lines appear at once and
/// never interleave.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private static let lock = NIOLock()

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [
            "time": .string(Self.timestamp()), "level": .string(event.level.rawValue),
            "logger": .string(label), "message": .string(event.message.description),
        ]
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        for (key, value) in all where fields[key] == nil {
            if Self.numeric.contains(key), case .string(let text) = value, let number = Double(text) {
                fields[key] = number == number.rounded() && abs(number) < 1e15 ? .int(Int64(number)) : .double(number)
            } else {
                fields[key] = Self.json(value)
            }
        }
        var line = JSONValue.object(fields).serializedBytes()
        line.append(UInt8(ascii: "\n"))
        Self.lock.withLock {
            line.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = Foundation.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                    if n <= 0 { break }
                    offset += n
                }
            }
        }
    }

    /// Metadata written as JSON numbers (the access line's counts and times); the rest are strings.
    static let numeric: Set<String> = ["status", "bytesIn", "bytesOut", "durationMs", "upstreamMs", "retries"]

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s):
            return .string(s)
        case .stringConvertible(let c):
            if let i = c as? Int { return .int(Int64(i)) }
            if let d = c as? Double { return .double(d) }
            if let b = c as? Bool { return .bool(b) }
            return .string(c.description)
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d): return .object(d.mapValues(json))
        }
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, Int(ts.tv_nsec / 1_000_000))
    }
}
