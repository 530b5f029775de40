import GatewayCore
import GatewayPolicies
import GatewayRedis

/// The all-or-nothing admission decision of `RateLimiter`, as one atomic Redis script shared by
/// every gateway instance: the operation's bucket, the key's plan bucket, its key+operation
/// bucket and its quota. Buckets are token buckets on Redis's own clock (`TIME`), so instances'
/// clocks do not matter; a request refused by any bucket takes nothing from the others and does
/// not count against the quota. Quota windows (a UTC day, week or month) are chosen by the
/// calling instance's clock and named in the counter's key.
///
/// A bucket is a hash `{t: tokens, ts: microseconds}` that expires once it would be full again
/// (an absent bucket is a full one), a minute after it would be full again.
public enum RedisAdmissionScript {
    public static let script = RedisScript("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local n = tonumber(ARGV[1])
        local tokens = {}
        local wait = 0
        local tight = 0
        for i = 1, n do
          local rate = tonumber(ARGV[i * 3 - 1])
          local burst = tonumber(ARGV[i * 3])
          local state = redis.call('HMGET', KEYS[i], 't', 'ts')
          local tk = burst
          if state[1] then
            local elapsed = now - tonumber(state[2])
            if elapsed < 0 then elapsed = 0 end
            tk = math.min(burst, tonumber(state[1]) + elapsed * rate / 1000000)
          end
          tokens[i] = tk
          if tk < 1 then wait = math.max(wait, (1 - tk) / rate) end
          if ARGV[i * 3 + 1] == '1' and (tight == 0 or tk < tokens[tight]) then tight = i end
        end
        if wait > 0 then return {1, string.format('%.6f', wait)} end
        local q = n * 3 + 2
        local left = -1
        if ARGV[q] ~= '-1' then
          local limit = tonumber(ARGV[q])
          local used = tonumber(redis.call('GET', KEYS[n + 1]) or '0')
          if used >= limit then return {2} end
          used = redis.call('INCR', KEYS[n + 1])
          if used == 1 then redis.call('EXPIREAT', KEYS[n + 1], ARGV[q + 1]) end
          left = limit - used
        end
        for i = 1, n do
          local rate = tonumber(ARGV[i * 3 - 1])
          local burst = tonumber(ARGV[i * 3])
          tokens[i] = tokens[i] - 1
          redis.call('HSET', KEYS[i], 't', string.format('%.17g', tokens[i]), 'ts', string.format('%.0f', now))
          redis.call('PEXPIRE', KEYS[i], math.ceil((burst - tokens[i]) / rate * 1000) + 60000)
        end
        if tight == 0 then return {0, '', '', left} end
        local full = (tonumber(ARGV[tight * 3]) - tokens[tight]) / tonumber(ARGV[tight * 3 - 1])
        return {0, string.format('%.17g', tokens[tight]), string.format('%.6f', full), left}
        """)

    public static func bucket(operation routeKey: String) -> String { "gateway:bucket:op:\(routeKey)" }
    public static func bucket(key id: String) -> String { "gateway:bucket:key:\(id)" }
    public static func bucket(key id: String, operation routeKey: String) -> String { "gateway:bucket:keyop:\(id):\(routeKey)" }

    /// The script's keys and arguments for `request` (its gateway-wide bucket is not shared and
    /// is left out). `wallClock` (seconds since 1970) picks the quota window.
    public static func call(for request: RateLimiter.Request, wallClock: Double) -> (keys: [String], arguments: [String]) {
        var keys: [String] = []
        var arguments = [""]
        func add(_ key: String, _ limit: Throttle, keyed: Bool) {
            keys.append(key)
            arguments += [String(limit.rate), String(limit.burst), keyed ? "1" : "0"]
        }
        if let (name, limit) = request.operation { add(bucket(operation: name.string), limit, keyed: false) }
        if let (id, limit) = request.key { add(bucket(key: id.string), limit, keyed: true) }
        if let (id, name, limit) = request.keyOperation { add(bucket(key: id.string, operation: name.string), limit, keyed: true) }
        arguments[0] = String(keys.count)
        if let quota = request.quota {
            let window = quota.period.window(containing: wallClock)
            keys.append(RedisStateStore.quota(quota.keyId.string, window.start))
            arguments += [String(quota.limit), String(window.start + RedisStateStore.quotaLifetime)]
        } else {
            arguments += ["-1", "0"]
        }
        return (keys, arguments)
    }

    /// The decision the script's reply stands for.
    public static func decision(_ reply: RESPValue, request: RateLimiter.Request, wallClock: Double) throws -> RateLimiter.Decision {
        guard let parts = reply.array, let status = parts.first?.int else {
            throw RedisError.protocolError("admission reply is not an array with a status")
        }
        switch status {
        case 0:
            guard parts.count == 4 else { throw RedisError.protocolError("admission reply of \(parts.count) elements") }
            let tokens = parts[1].string.flatMap(Double.init)
            let full = parts[2].string.flatMap(Double.init)
            var quotaLeft: Int?
            var quotaReset: Double?
            if let quota = request.quota, let left = parts[3].int, left >= 0 {
                quotaLeft = Int(left)
                quotaReset = Double(quota.period.window(containing: wallClock).end) - wallClock
            }
            return .admitted(remaining: tokens.map { Int($0.rounded(.down)) }, resetSeconds: full,
                             quotaRemaining: quotaLeft, quotaResetSeconds: quotaReset)
        case 1:
            guard parts.count == 2, let wait = parts[1].string.flatMap(Double.init) else {
                throw RedisError.protocolError("throttle reply without its wait")
            }
            return .throttled(retryAfter: wait)
        case 2:
            guard let quota = request.quota else { throw RedisError.protocolError("quota refusal for a request with no quota") }
            return .quotaExceeded(retryAfter: Double(quota.period.window(containing: wallClock).end) - wallClock)
        default:
            throw RedisError.protocolError("unknown admission status \(status)")
        }
    }
}
