import Foundation
import Testing
import GatewayCore

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null, "x"], "b": {}} "#)
        #expect(value == .object(["a": .array([.int(1), .int(-2), .double(3.5), .double(1000), .bool(true), .bool(false), .null, .string("x")]), "b": .object([:])]))
    }

    @Test func integersThatFitInt64StayIntegers() throws {
        #expect(try JSONParser.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(Int64.min))
        #expect(try JSONParser.parse("9223372036854775808") == .double(9223372036854775808))
        #expect(try JSONParser.parse("1.0") == .double(1.0))
        #expect(try JSONParser.parse("-0") == .int(0))
        #expect(try JSONParser.parse("0.0001") == .double(0.0001))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        #expect(try JSONParser.parse(#""a\"\\\/\b\f\n\r\t""#) == .string("a\"\\/\u{8}\u{c}\n\r\t"))
        #expect(try JSONParser.parse(#""\u00e9\u20AC\ud83d\ude00""#) == .string("é€😀"))
        #expect(try JSONParser.parse("\"caf\u{e9} \u{1F600}\"") == .string("café 😀"))
    }

    @Test(arguments: [
        ("", "unexpected end of input"), ("01", "leading zero"), ("1.", "digit after '.'"), ("-", "invalid number"),
        ("[1,]", "unexpected character"), ("{\"a\" 1}", "expected ':'"), ("[1] x", "unexpected data"),
        ("\"\u{01}\"", "control character"), (#""\x""#, "invalid escape"), (#""\ud800""#, "unpaired surrogate"),
        (#""\udc00x""#, "unpaired surrogate"), ("tru", "invalid literal"), ("{'a':1}", "expected a string key"),
        ("\"abc", "unterminated string"), ("+1", "unexpected character"), ("1e", "exponent"), ("NaN", "unexpected character"),
    ])
    func rejectsMalformedInput(text: String, reason: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        do {
            _ = try JSONParser.parse(text)
        } catch {
            #expect(error.reason.contains(reason), "\(text): \(error)")
        }
    }

    @Test func rejectsInvalidUTF8WithItsOffset() {
        for bytes: [UInt8] in [[0x22, 0xC3, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xFF, 0x22]] {
            do {
                _ = try JSONParser.parse(bytes)
                Issue.record("accepted \(bytes)")
            } catch {
                #expect(error.reason == "invalid UTF-8")
                #expect(error.offset == 1)
            }
        }
    }

    @Test func limitsNestingDepth() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try JSONParser.parse(ok)
        let tooDeep = String(repeating: "{\"a\":", count: 513) + "1" + String(repeating: "}", count: 513)
        do {
            _ = try JSONParser.parse(tooDeep)
            Issue.record("accepted 513 levels")
        } catch {
            #expect(error.reason.contains("nesting"))
        }
    }

    @Test func reportsTheByteOffset() {
        do {
            _ = try JSONParser.parse(#"{"a": [1, 2 3]}"#)
        } catch {
            #expect(error.offset == 12)
        }
    }

    @Test func agreesWithFoundationOnADocument() throws {
        let text = #"{"flightNumber":"LH123","passengers":[{"name":"Ann","seats":[1,2]}],"price":12.5,"ok":true}"#
        #expect(try JSONParser.parse(Data(text.utf8)) == (try JSONValue.parse(Data(text.utf8))))
    }
}

/// I-JSON (RFC 7493 §2.3): a repeated key is an error naming where it is, at any depth.
@Suite struct JSONRepeatedKeyTests {
    @Test(arguments: [
        (#"{"passengers":[1,2],"passengers":[]}"#, "/passengers"),
        (#"{"a":{"b":1,"c":2,"b":3}}"#, "/a/b"),
        (#"{"list":[{"x":1},{"y":1,"y":2}]}"#, "/list/1/y"),
        (#"{"a/b":{"~":1,"~":2}}"#, "/a~1b/~0"),
        (#"[[{"k":0,"k":0}]]"#, "/0/0/k"),
    ])
    func aRepeatedKeyIsRefusedWithItsPointer(text: String, pointer: String) {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.pointer == pointer)
            #expect(error.reason == "repeated object key")
        }
    }

    @Test func syntaxErrorsHaveNoPointer() {
        do {
            _ = try JSONParser.parse(#"{"a":[1,}"#)
            Issue.record("accepted")
        } catch {
            #expect(error.pointer == nil)
        }
    }

    @Test func jsonValueParseUsesTheSameRule() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Data(#"{"a":1,"a":2}"#.utf8)) }
        #expect((try? JSONValue.parse(Data(#"{"a":1,"b":{"a":2}}"#.utf8))) != nil)
    }
}
