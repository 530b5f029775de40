@testable import GatewayServer
import Testing

@Suite struct FieldBytesTests {
    @Test func tokenBytesAreExactlyRFC9110sTchar() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(FieldBytes.isTokenByte(byte) == tchar.contains(byte), "byte \(byte)")
        }
    }

    /// A run of token bytes ends at the first byte that is not one, for every byte value, and at
    /// the end given at the latest (the bytes after it are not looked at).
    @Test func aTokenRunEndsAtItsFirstOtherByte() {
        for byte in UInt8.min...UInt8.max {
            let bytes: [UInt8] = [UInt8(ascii: "a"), UInt8(ascii: "-"), byte, UInt8(ascii: "Z")]
            let end = bytes.withUnsafeBufferPointer { FieldBytes.tokenEnd($0, from: 0, to: 4) }
            #expect(end == (FieldBytes.isTokenByte(byte) ? 4 : 2), "byte \(byte)")
            let start = bytes.withUnsafeBufferPointer { FieldBytes.tokenEnd($0, from: 2, to: 3) }
            #expect(start == (FieldBytes.isTokenByte(byte) ? 3 : 2), "byte \(byte)")
        }
        let colon = Array("x:".utf8)
        #expect(colon.withUnsafeBufferPointer { FieldBytes.tokenEnd($0, from: 0, to: 1) } == 1)
    }

    /// The value rule, for one byte.
    static func allowed(_ byte: UInt8, obsText: Bool) -> Bool {
        (byte >= 0x20 && byte != 0x7F && (obsText || byte < 0x80)) || byte == 0x09
    }

    static func check(_ bytes: [UInt8], from: Int, to: Int, obsText: Bool) -> Bool {
        bytes.withUnsafeBufferPointer { FieldBytes.valueIsAllowed($0, from: from, to: to, obsText: obsText) }
    }

    /// Every byte value at every place of values up to 24 bytes long (three words), in a value of
    /// plain letters and, again, of bytes from 0x80 up, with a NUL on each side of the range: the
    /// word test agrees with the byte rule.
    @Test func everyByteAtEveryPlaceAgreesWithTheByteRule() {
        for obsText in [false, true] {
            for background in [UInt8(ascii: "a"), 0xC3] {
                for length in 1...24 {
                    var bytes = [0x00] + [UInt8](repeating: background, count: length) + [0x00]
                    for place in 1...length {
                        for byte in UInt8.min...UInt8.max {
                            bytes[place] = byte
                            let expected = (length == 1 || Self.allowed(background, obsText: obsText)) && Self.allowed(byte, obsText: obsText)
                            let got = Self.check(bytes, from: 1, to: 1 + length, obsText: obsText)
                            if got != expected {
                                Issue.record("byte \(byte) at \(place) of \(length), background \(background), obsText \(obsText): \(got)")
                                return
                            }
                        }
                        bytes[place] = background
                    }
                }
            }
        }
        #expect(Self.check([0x00], from: 1, to: 1, obsText: false), "an empty value")
    }

    @Test func aTabAnywhereIsAllowedAndWhatFollowsItIsStillChecked() {
        let tabbed = Array("abc\tdefghijklmnop".utf8)
        #expect(Self.check(tabbed, from: 0, to: tabbed.count, obsText: false))
        let controlAfterTab = Array("abc\tdefghij\u{1}klmnop".utf8)
        #expect(!Self.check(controlAfterTab, from: 0, to: controlAfterTab.count, obsText: false))
    }

    /// HTTP/2's byte tests (names: tokens without upper case; values: no NUL, CR, LF; pseudo-header
    /// values: nothing up to SP, no DEL), for every byte value at every place of up to 24 bytes,
    /// on a background of letters and of bytes from 0x80 up: the word tests agree with the byte
    /// rules.
    @Test func http2sByteTestsAgreeWithTheirByteRules() {
        let lineByte: (UInt8) -> Bool = { $0 == 0x00 || $0 == 0x0A || $0 == 0x0D }
        let spaceOrControl: (UInt8) -> Bool = { $0 <= 0x20 || $0 == 0x7F }
        let lowerToken: (UInt8) -> Bool = { FieldBytes.isTokenByte($0) && !(65...90).contains($0) }
        for background in [UInt8(ascii: "a"), 0xC3] {
            for length in 1...24 {
                var bytes = [UInt8](repeating: background, count: length)
                for place in 0..<length {
                    for byte in UInt8.min...UInt8.max {
                        bytes[place] = byte
                        let others = length == 1 ? [] : [background]
                        bytes.withUnsafeBufferPointer { buffer in
                            if FieldBytes.containsLineByte(buffer) != (lineByte(byte) || others.contains(where: lineByte)) {
                                Issue.record("line byte: \(byte) at \(place) of \(length) on \(background)")
                            }
                            if FieldBytes.containsSpaceOrControl(buffer) != (spaceOrControl(byte) || others.contains(where: spaceOrControl)) {
                                Issue.record("space or control: \(byte) at \(place) of \(length) on \(background)")
                            }
                            if FieldBytes.isLowerToken(buffer) != (lowerToken(byte) && others.allSatisfy(lowerToken)) {
                                Issue.record("lower-case token: \(byte) at \(place) of \(length) on \(background)")
                            }
                        }
                    }
                    bytes[place] = background
                }
            }
        }
        #expect(!FieldBytes.containsLineByte(UnsafeBufferPointer(start: nil, count: 0)))
        #expect(FieldBytes.isLowerToken(UnsafeBufferPointer(start: nil, count: 0)))
    }
}
