import Testing
@testable import JSON

@testable import EventLog

@Suite("JSON values")
struct JSONValueTests {
    @Test("ISO 8601 times written directly equal the C library's, across leap days, centuries and before 1970")
    func timestamps() {
        var generator = SystemRandomNumberGenerator()
        let edges: [Int64] = [0, -1, 999, 1_000, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, -2_208_988_800_001, 253_402_300_799_999]
        let random = (0..<20_000).map { _ in Int64.random(in: -2_208_988_800_000...7_258_118_400_000, using: &generator) }
        for milliseconds in edges + random {
            #expect(Timestamp.iso8601(milliseconds: milliseconds) == Timestamp.formattedByLibc(milliseconds: milliseconds), "\(milliseconds)")
        }
        #expect(Timestamp.iso8601(milliseconds: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp.iso8601(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.iso8601(milliseconds: 253_402_300_800_000) == Timestamp.formattedByLibc(milliseconds: 253_402_300_800_000), "year 10000")
    }

    @Test("canonical form sorts keys by bytes, drops white space and escapes control characters")
    func canonicalForm() throws {
        let value = try JSONValue(parsing: Array(#" { "b": [1, 2.5, -3, true, null], "a": "x\"y\\z\n\u0001é", "B": {} } "#.utf8))
        #expect(value.canonicalString == #"{"B":{},"a":"x\"y\\z\n\u0001é","b":[1,2.5,-3,true,null]}"#)
    }

    @Test("parsing the canonical form gives the same value back", arguments: [
        #"{"nested":{"list":[{"k":"v"},[],{}],"n":-0.25}}"#, #"[]"#, #""text""#, "12345678901234", "1e+300", "false",
    ])
    func canonicalRoundTrip(text: String) throws {
        let value = try JSONValue(parsing: Array(text.utf8))
        let again = try JSONValue(parsing: value.canonicalBytes)
        #expect(again == value)
        #expect(again.canonicalBytes == value.canonicalBytes)
    }

    @Test("invalid JSON and invalid UTF-8 are refused", arguments: [
        Array("{".utf8), Array("{\"a\":}".utf8), [0x22, 0xFF, 0x22], Array("".utf8),
    ])
    func invalid(bytes: [UInt8]) {
        #expect(throws: (any Error).self) { try JSONValue(parsing: bytes) }
    }

    @Test("strings are refused unless valid UTF-8, with and without escapes", arguments: [
        [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80], [0x61, 0xFF], [0xF4, 0x90, 0x80, 0x80],
    ] as [[UInt8]])
    func invalidUTF8(sequence: [UInt8]) {
        for text in [[0x22] + sequence + [0x22], [0x22, 0x5C, 0x6E] + sequence + [0x22]] {
            #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        }
        #expect(sequence.withUnsafeBytes(UTF8Text.decode) == nil)
    }

    @Test("valid UTF-8 strings decode to themselves, ASCII or not, escaped or not", arguments: [
        "", "plain ascii", "héllo", "✓ done", "emoji 😀 and 中文", "\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}",
    ])
    func validUTF8(text: String) throws {
        #expect(try JSONValue(parsing: Array("\"\(text)\"".utf8)) == .string(text))
        #expect(try JSONValue(parsing: Array("\"\\t\(text)\"".utf8)) == .string("\t\(text)"))
        #expect(Array(text.utf8).withUnsafeBytes(UTF8Text.decode) == text)
        #expect(Array(text.utf8).withUnsafeBytes(UTF8Text.isASCII) == text.unicodeScalars.allSatisfy(\.isASCII))
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test("numbers keep integers apart from fractions, and 0 and 1 are not booleans")
    func numbers() throws {
        let value = try JSONValue(parsing: Array(#"[0, 1, -7, 1.0, 2e3, 9223372036854775807, 9223372036854775808, true]"#.utf8))
        #expect(value == .array([.integer(0), .integer(1), .integer(-7), .double(1.0), .double(2000), .integer(.max), .double(9.223372036854775808e18), .bool(true)]))
    }

    @Test("escapes and surrogate pairs decode to the right characters")
    func escapes() throws {
        let value = try JSONValue(parsing: Array(#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83c\udfb5""#.utf8))
        #expect(value == .string("a\"b\\c/d\u{8}\u{c}\n\r\té🎵"))
    }

    @Test("malformed texts are refused with the offset", arguments: [
        "", " ", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", "-", "1e", "tru", "nul", "\"\\x\"", "\"\\ud800\"",
        "\"\\udc00\"", "\"a\u{1}\"", "[1] 2", "{1:2}", "\"unterminated",
    ])
    func malformed(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: Array(text.utf8)) }
    }

    @Test("nesting deeper than the limit is refused, not a stack overflow")
    func depth() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        _ = try JSONValue(parsing: Array(fine.utf8))
    }
}
