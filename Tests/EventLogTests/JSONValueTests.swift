import Testing

@testable import EventLog

@Suite("JSON values")
struct JSONValueTests {
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
}
