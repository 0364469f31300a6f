import ConvLogClient
import EventLog
import Foundation
import Testing
import JSON
import JSONRPC

/// One malformed input and the error it must get.
struct BadInput: CustomTestStringConvertible, Sendable {
    var name: String
    var line: [UInt8]
    var code: Int
    var field: String?

    var testDescription: String { name }

    init(_ name: String, _ text: String, _ code: Int, field: String? = nil) {
        self.init(name, Array(text.utf8), code, field: field)
    }

    init(_ name: String, _ line: [UInt8], _ code: Int, field: String? = nil) {
        self.name = name
        self.line = line
        self.code = code
        self.field = field
    }
}

@Suite("Bad input")
struct BadInputTests {
    static let cases: [BadInput] = [
        BadInput("malformed JSON", #"{"jsonrpc":"2.0","id":1,"method":"health""#, RPCError.parseErrorCode),
        BadInput("not JSON at all", "hello", RPCError.parseErrorCode),
        BadInput("invalid UTF-8", [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], RPCError.parseErrorCode),
        BadInput("invalid UTF-8 in a string", Array(#"{"jsonrpc":"2.0","id":1,"method":"he"#.utf8) + [0xC3, 0x28] + Array(#"lth"}"#.utf8), RPCError.parseErrorCode),
        BadInput("a bare number", "42", RPCError.invalidRequestCode),
        BadInput("empty batch", "[]", RPCError.invalidRequestCode),
        BadInput("missing jsonrpc", #"{"id":1,"method":"health"}"#, RPCError.invalidRequestCode),
        BadInput("wrong jsonrpc", #"{"jsonrpc":"1.0","id":1,"method":"health"}"#, RPCError.invalidRequestCode),
        BadInput("method not a string", #"{"jsonrpc":"2.0","id":1,"method":7}"#, RPCError.invalidRequestCode),
        BadInput("object id", #"{"jsonrpc":"2.0","id":{},"method":"health"}"#, RPCError.invalidRequestCode),
        BadInput("array id", #"{"jsonrpc":"2.0","id":[1],"method":"health"}"#, RPCError.invalidRequestCode),
        BadInput("boolean id", #"{"jsonrpc":"2.0","id":true,"method":"health"}"#, RPCError.invalidRequestCode),
        BadInput("unknown method", #"{"jsonrpc":"2.0","id":1,"method":"dropTables"}"#, RPCError.methodNotFoundCode),
        BadInput("params as an array", #"{"jsonrpc":"2.0","id":1,"method":"getSession","params":["s"]}"#, RPCError.invalidParamsCode, field: "params"),
        BadInput("params as a string", #"{"jsonrpc":"2.0","id":1,"method":"getSession","params":"s"}"#, RPCError.invalidRequestCode),
        BadInput("missing sessionId", #"{"jsonrpc":"2.0","id":1,"method":"getContext","params":{}}"#, RPCError.invalidParamsCode, field: "sessionId"),
        BadInput("sessionId of the wrong type", #"{"jsonrpc":"2.0","id":1,"method":"getContext","params":{"sessionId":5}}"#, RPCError.invalidParamsCode, field: "sessionId"),
        BadInput("sessionId with a bad character", #"{"jsonrpc":"2.0","id":1,"method":"getSession","params":{"sessionId":"a b"}}"#, RPCError.invalidParamsCode, field: "sessionId"),
        BadInput("sessionId too long", #"{"jsonrpc":"2.0","id":1,"method":"create","params":{"sessionId":""# + String(repeating: "x", count: 129) + #""}}"#, RPCError.invalidParamsCode, field: "sessionId"),
        BadInput("unknown role", #"{"jsonrpc":"2.0","id":1,"method":"add","params":{"sessionId":"s","role":"admin","content":"x"}}"#, RPCError.invalidParamsCode, field: "role"),
        BadInput("missing content", #"{"jsonrpc":"2.0","id":1,"method":"add","params":{"sessionId":"s","role":"user"}}"#, RPCError.invalidParamsCode, field: "content"),
        BadInput("content a number", #"{"jsonrpc":"2.0","id":1,"method":"add","params":{"sessionId":"s","role":"user","content":3}}"#, RPCError.invalidParamsCode, field: "content"),
        BadInput("window negative", #"{"jsonrpc":"2.0","id":1,"method":"getContext","params":{"sessionId":"s","window":-1}}"#, RPCError.invalidParamsCode, field: "window"),
        BadInput("window a string", #"{"jsonrpc":"2.0","id":1,"method":"getContext","params":{"sessionId":"s","window":"5"}}"#, RPCError.invalidParamsCode, field: "window"),
        BadInput("expectedVersion fractional", #"{"jsonrpc":"2.0","id":1,"method":"add","params":{"sessionId":"s","role":"user","content":"x","expectedVersion":1.5}}"#, RPCError.invalidParamsCode, field: "expectedVersion"),
        BadInput("unknown parameter", #"{"jsonrpc":"2.0","id":1,"method":"getSession","params":{"sessionId":"s","extra":1}}"#, RPCError.invalidParamsCode, field: "extra"),
        BadInput("metadata not an object", #"{"jsonrpc":"2.0","id":1,"method":"create","params":{"metadata":[1]}}"#, RPCError.invalidParamsCode, field: "metadata"),
        BadInput("listSessions bad cursor", #"{"jsonrpc":"2.0","id":1,"method":"listSessions","params":{"after":"zz"}}"#, RPCError.invalidParamsCode, field: "after"),
        BadInput("content too large", #"{"jsonrpc":"2.0","id":1,"method":"add","params":{"sessionId":"s","role":"user","content":""# + String(repeating: "y", count: 300_000) + #""}}"#, RPCError.payloadTooLargeCode, field: "content"),
    ]

    @Test("each bad input gets its exact error code, writes nothing, and the next request is answered", arguments: cases)
    func badInput(_ input: BadInput) async throws {
        try await withDaemon { daemon in
            let client = try daemon.client()
            _ = try await client.call("create", ["sessionId": "s"])
            let before = try await client.call("stats")["events"]
            let answer = try parse(try await client.exchangeRaw(input.line + [10]))
            #expect(answer["error"]?["code"] == .integer(Int64(input.code)), "\(String(decoding: Array(answer.canonicalBytes.prefix(300)), as: UTF8.self))")
            if let field = input.field { #expect(answer["error"]?["data"]?["field"] == .string(field)) }
            #expect(answer["jsonrpc"] == "2.0")
            #expect(try await client.call("health")["status"] == "ok")
            #expect(try await client.call("stats")["events"] == before, "nothing written")
        }
    }

    @Test("an oversized frame is refused with id null, its rest discarded, and the connection lives on")
    func oversizedFrame() async throws {
        try await withDaemon(configure: { $0.maximumFrameBytes = 4_096 }) { daemon in
            let client = try daemon.client()
            let huge = Array(#"{"jsonrpc":"2.0","id":1,"method":"health","params":{"pad":""#.utf8) + Array(repeating: UInt8(ascii: "a"), count: 50_000) + Array("\"}}\n".utf8)
            let answer = try parse(try await client.exchangeRaw(huge))
            #expect(answer["error"]?["code"] == .integer(Int64(RPCError.payloadTooLargeCode)))
            #expect(answer["id"] == .null)
            #expect(try await client.call("health")["status"] == "ok")
        }
    }

    @Test("empty and blank lines are skipped, not answered")
    func emptyLines() async throws {
        try await withDaemon { daemon in
            let client = try daemon.client()
            let answer = try parse(try await client.exchangeRaw(Array("\n  \n\r\n{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"health\"}\n".utf8)))
            #expect(answer["id"] == 5)
        }
    }

    @Test("ids of every allowed JSON type are echoed", arguments: [#""abc""#, "0", "-12", "1.5", "null", #""""#])
    func idsEchoed(id: String) async throws {
        try await withDaemon { daemon in
            let client = try daemon.client()
            let answer = try parse(try await client.exchangeRaw(Array("{\"jsonrpc\":\"2.0\",\"id\":\(id),\"method\":\"health\"}\n".utf8)))
            #expect(answer["id"] == (try JSONValue(parsing: Array(id.utf8))))
            #expect(answer["result"]?["status"] == "ok")
        }
    }

    @Test("a 10,000-element batch gets 10,000 answers in order")
    func largeBatch() async throws {
        try await withDaemon(configure: { $0.maximumFrameBytes = 4 << 20 }) { daemon in
            let client = try daemon.client()
            _ = try await client.call("create", ["sessionId": "s"])
            var calls: [String] = []
            for index in 0..<10_000 {
                calls.append(index % 2 == 0
                    ? "{\"jsonrpc\":\"2.0\",\"id\":\(index),\"method\":\"getSession\",\"params\":{\"sessionId\":\"s\"}}"
                    : "{\"jsonrpc\":\"2.0\",\"id\":\(index),\"method\":\"add\",\"params\":{\"sessionId\":\"s\",\"role\":\"user\",\"content\":\"m\(index)\"}}")
            }
            let answer = try parse(try await client.exchangeRaw(Array("[\(calls.joined(separator: ","))]\n".utf8)))
            guard case .array(let responses) = answer else {
                Issue.record("not an array")
                return
            }
            #expect(responses.count == 10_000)
            #expect(responses.map { $0["id"] } == (0..<10_000).map { .integer(Int64($0)) })
            #expect(responses.allSatisfy { $0["result"] != nil })
            #expect(try await client.call("getSession", ["sessionId": "s"])["messageCount"] == 5_000)
        }
    }

    @Test("one client's garbage does not close another client's connection")
    func isolation() async throws {
        try await withDaemon { daemon in
            let good = try daemon.client()
            let bad = try daemon.client()
            _ = try await bad.exchangeRaw(Array("\u{0}\u{1}garbage{{{\n".utf8))
            _ = try await bad.exchangeRaw(Array(repeating: UInt8(ascii: "["), count: 10_000) + [10])
            #expect(try await good.call("health")["status"] == "ok")
            #expect(try await bad.call("health")["status"] == "ok")
        }
    }
}
