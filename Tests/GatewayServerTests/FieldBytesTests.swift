@testable import GatewayServer
import Testing

@Suite struct FieldBytesTests {
    @Test func tokenBytesAreExactlyRFC9110sTchar() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(FieldBytes.isTokenByte(byte) == tchar.contains(byte), "byte \(byte)")
        }
    }
}
