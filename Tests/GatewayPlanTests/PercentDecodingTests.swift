import GatewayCore
import Testing

@Suite struct PercentDecodingTests {
    @Test func escapesAndPlusesDecodeAndTextWithoutThemIsReturnedAsIs() {
        #expect(PercentDecoding.decode("LH1-1", plusAsSpace: true) == "LH1-1")
        #expect(PercentDecoding.decode("a%20b+c", plusAsSpace: true) == "a b c")
        #expect(PercentDecoding.decode("a%20b+c", plusAsSpace: false) == "a b+c")
        #expect(PercentDecoding.decode("%E2%82%AC%7e", plusAsSpace: false) == "€~")
        #expect(PercentDecoding.decode("x/y%2Fz"[...].dropFirst(2), plusAsSpace: false) == "y/z")
        #expect(PercentDecoding.decode("", plusAsSpace: true) == "")
    }

    @Test func truncatedOrNonHexEscapesAndInvalidUTF8AreRefused() {
        #expect(PercentDecoding.decode("abc%", plusAsSpace: false) == nil)
        #expect(PercentDecoding.decode("abc%4", plusAsSpace: false) == nil)
        #expect(PercentDecoding.decode("%zz", plusAsSpace: false) == nil)
        #expect(PercentDecoding.decode("%FF%FE", plusAsSpace: false) == nil)
    }
}
