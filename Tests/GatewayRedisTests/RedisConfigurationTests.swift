import GatewayRedis
import NIOCore
import Testing

@Suite struct RedisConfigurationTests {
    @Test func parsesEveryPartOfTheURL() throws {
        let c = try RedisConfiguration(url: "rediss://app:p%40ss@cache.internal:6380/3?timeout=250ms&ca=/etc/ca.pem&protocol=3")
        #expect(c.host == "cache.internal")
        #expect(c.port == 6380)
        #expect(c.user == "app")
        #expect(c.password == "p@ss")
        #expect(c.database == 3)
        #expect(c.tls)
        #expect(c.caFile == "/etc/ca.pem")
        #expect(c.timeout == .milliseconds(250))
        #expect(c.protocolVersion == 3)
        #expect(c.redacted == "rediss://app:***@cache.internal:6380/3")
    }

    @Test func defaults() throws {
        let c = try RedisConfiguration(url: "redis://127.0.0.1")
        #expect(c.port == 6379)
        #expect(c.database == 0)
        #expect(!c.tls)
        #expect(c.password == nil)
        #expect(c.timeout == .milliseconds(100))
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@[::1]:7000")
        #expect(passwordOnly.user == nil)
        #expect(passwordOnly.password == "secret")
        #expect(passwordOnly.host == "::1")
        #expect(passwordOnly.port == 7000)
    }

    @Test(arguments: [
        ("http://x", "not a redis"), ("redis://", "no host"), ("redis://h:99999", "bad port"), ("redis://h/x", "not a number"),
        ("redis://h?timeout=soon", "timeout"), ("redis://h?ca=/x", "needs rediss"), ("redis://h?color=red", "unknown parameter"),
    ])
    func refusesBadURLsWithTheReason(url: String, reason: String) {
        #expect {
            _ = try RedisConfiguration(url: url)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func theScriptIsCalledByItsSHA1() {
        // `redis-cli SCRIPT LOAD "return 1"` prints this digest.
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }
}
