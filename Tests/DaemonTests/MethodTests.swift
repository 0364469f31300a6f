import ConvLog
import ConvLogClient
import Projections
import EventLog
import Foundation
import Testing
import ConvLogRPC
import JSON
import JSONRPC

@Suite("JSON-RPC methods over the socket")
struct MethodTests {
    @Test("create, add two turns, getContext, getSession, listSessions, readEvents, stats, health")
    func conversation() async throws {
        try await withDaemon { daemon in
            let client = try daemon.client()
            let created = try await client.call("create", ["sessionId": "chat-1", "userId": "u1", "metadata": ["app": "demo"], "context": ["db": "chinook"]])
            #expect(created["sessionId"] == "chat-1")
            #expect(created["version"] == 2, "SessionCreated and the initial context")
            let generated = try await client.call("create", [:])
            #expect(generated["sessionId"]?.stringValue?.count == 36)

            let first = try await client.call("add", ["sessionId": "chat-1", "role": "user", "content": "How many artists start with A-E?", "messageId": "q1"])
            // Only the message is written: topic analysis is read-side work.
            #expect(first["messageId"] == "q1" && first["version"] == 3 && first["duplicate"] == false)
            let second = try await client.call(
                "add", ["sessionId": "chat-1", "role": "assistant", "content": ["answer": 86, "sql": "SELECT count(*) FROM artists"], "expectedVersion": 3]
            )
            #expect(second["version"] == 4)

            let context = try await client.call("getContext", ["sessionId": "chat-1", "window": 5])
            let messages = try #require(context["messages"].flatMap { if case .array(let list) = $0 { list } else { nil } })
            #expect(messages.count == 2)
            #expect(messages[0]["content"] == "How many artists start with A-E?" && messages[0]["role"] == "user")
            #expect(messages[1]["content"]?["answer"] == 86)
            #expect(context["context"]?["db"] == "chinook")
            #expect(context["context"] == ["db": "chinook"], "the analyzer writes nothing into the context")
            #expect(context["version"] == 4)
            let last = try await client.call("getContext", ["sessionId": "chat-1", "window": 1])
            #expect(last["messages"] == .array([messages[1]]))

            let session = try await client.call("getSession", ["sessionId": "chat-1"])
            #expect(session["userId"] == "u1" && session["messageCount"] == 2 && session["metadata"] == ["app": "demo"])
            #expect(session["lastTopic"]?["entity"] == "artists", "computed when asked")

            let listed = try await client.call("listSessions", ["userId": "u1"])
            #expect(try #require(listed["sessions"]?.arrayValue).count == 1)

            let events = try await client.call("readEvents", ["sessionId": "chat-1"])
            let list = try #require(events["events"].flatMap { if case .array(let list) = $0 { list } else { nil } })
            #expect(list.map { $0["type"] } == ["SessionCreated", "ContextUpdated", "MessageAdded", "MessageAdded"])
            let page = try await client.call("readEvents", ["from": 1, "limit": 2])
            #expect(page["next"] == 3)

            let analysis = try await client.call("analyzeFollowUp", ["sessionId": "chat-1", "query": "Who are those artists?"])
            #expect(analysis["isFollowUp"] == true)
            #expect(analysis["standaloneQuery"] == "Who are the artists that start with A-E?")
            #expect(analysis["method"] == "rules")
            #expect(analysis["previousTopic"]?["entity"] == "artists")
            #expect(analysis["previousTopic"]?["sourceMessageId"] == "q1")
            #expect(try #require(analysis["reasons"]?.arrayValue).contains("demonstrative:those"))
            #expect(try #require(analysis["contextMessages"]?.arrayValue).count == 2)
            let standalone = try await client.call("analyzeFollowUp", ["sessionId": "chat-1", "query": "How many albums did AC/DC release in 1980?"])
            #expect(standalone["isFollowUp"] == false)
            let fallback = try await client.call("analyzeFollowUp", ["sessionId": "chat-1", "query": "Who are those artists?", "rewrite": "llm"])
            #expect(fallback["method"] == "rules")
            #expect(try #require(fallback["reasons"]?.arrayValue).contains("llm:fallback:not-configured"))

            let stats = try await client.call("stats")
            #expect(stats["events"] == 5 && stats["sessions"] == 2)
            #expect(try await client.call("health")["status"] == "ok")
            let discover = try await client.call("rpc.discover")
            #expect(discover["openrpc"] != nil)

            // An orchestrator that stores the question before asking (a LangGraph thread does) gets the same answer.
            _ = try await client.call("add", ["sessionId": "chat-1", "role": "user", "content": "Who are those artists?"])
            let stored = try await client.call("analyzeFollowUp", ["sessionId": "chat-1", "query": "Who are those artists?", "window": 2])
            #expect(stored["standaloneQuery"] == "Who are the artists that start with A-E?")
            #expect(stored["contextMessages"]?.arrayValue?.count == 2, "the two turns before the question")
            #expect(stored["contextMessages"]?.arrayValue?.first?["content"] == "How many artists start with A-E?")
        }
    }

    @Test("getContext's answer, written directly, is the canonical form of its JSON tree")
    func contextEncoding() throws {
        let messages = [
            MessageAdded(messageID: "q1", role: .user, content: .text("How many artists start with A-E? \"quoted\"\n\u{1} é 🎵")),
            MessageAdded(messageID: "a1", role: .assistant, content: .json(["answer": 86, "sql": "SELECT 1", "rows": [1, .double(2.5), .null, true]]),
                         metadata: ["model": "m", "usage": ["in": 12, "out": 7], "": "empty key"]),
            MessageAdded(messageID: "t1", role: .tool, content: .json(.array([])), metadata: [:]),
        ].enumerated().map { index, message in
            WindowMessage(sequence: UInt64(40 + index), sessionVersion: UInt64(3 + index), timestamp: 1_700_000_000_123 + Int64(index), message: message)
        }
        for context in [
            SessionContext(sessionID: "chat-1", messages: messages, context: ["db": "chinook", "nested": ["a": [1]]], version: 5),
            SessionContext(sessionID: "empty", messages: [], context: [:], version: 1),
        ] {
            let tree: JSONValue = [
                "sessionId": .string(context.sessionID),
                "messages": .array(context.messages.map(ConvLogMethods.json)),
                "context": .object(context.context),
                "version": .integer(Int64(context.version)),
            ]
            #expect(ConvLogMethods.canonicalJSON(context) == tree.canonicalBytes)
        }
    }

    @Test("getContext with maxTokens keeps the most recent messages that fit, and asOf travels back")
    func contextBudgetAndTimeTravel() async throws {
        try await withDaemon { daemon in
            let client = try daemon.client()
            _ = try await client.call("create", ["sessionId": "s"])
            var sequences: [Int64] = []
            for index in 0..<6 {
                let added = try await client.call("add", ["sessionId": "s", "role": "user", "content": .string(String(repeating: "w", count: 40) + "\(index)")])
                guard case .integer(let sequence)? = added["sequence"] else { throw TestFailure("add returned no sequence: \(added)") }
                sequences.append(sequence)
            }
            // Each message: 41 bytes → 11 tokens + 4 overhead = 15 tokens.
            let budgeted = try await client.call("getContext", ["sessionId": "s", "window": 6, "maxTokens": 45])
            let budgetedMessages = try #require(budgeted["messages"]?.arrayValue)
            #expect(budgetedMessages.count == 3)
            #expect(budgetedMessages.last?["content"]?.stringValue?.hasSuffix("5") == true)
            let past = try await client.call("getContext", ["sessionId": "s", "window": 10, "asOf": .integer(sequences[2])])
            let pastMessages = try #require(past["messages"]?.arrayValue)
            #expect(pastMessages.count == 3)
            #expect(pastMessages.last?["sequence"] == .integer(sequences[2]))
            let events = try await client.call("readEvents", ["sessionId": "s"])
            let list = try #require(events["events"]?.arrayValue)
            #expect(past["version"] == list.first { $0["sequence"] == .integer(sequences[2]) }?["sessionVersion"])
        }
    }

    @Test("add is idempotent by messageId, conflicts on expectedVersion, and creates only when asked")
    func addSemantics() async throws {
        try await withDaemon { daemon in
            let client = try daemon.client()
            let missing = await #expect(throws: RPCError.self) {
                try await client.call("add", ["sessionId": "nope", "role": "user", "content": "hi"])
            }
            #expect(missing?.code == RPCError.sessionNotFoundCode)
            let created = try await client.call("add", ["sessionId": "auto", "role": "user", "content": "hi", "messageId": "m1", "createIfMissing": true])
            #expect(created["version"] == 2, "SessionCreated and the message")
            let retry = try await client.call("add", ["sessionId": "auto", "role": "user", "content": "hi", "messageId": "m1", "createIfMissing": true])
            #expect(retry["duplicate"] == true && retry["sequence"] == created["sequence"])
            let conflict = await #expect(throws: RPCError.self) {
                try await client.call("add", ["sessionId": "auto", "role": "user", "content": "x", "expectedVersion": 1])
            }
            #expect(conflict?.code == RPCError.versionConflictCode)
            #expect(conflict?.data?["expected"] == 1 && conflict?.data?["actual"] == 2)
            let exists = await #expect(throws: RPCError.self) { try await client.call("create", ["sessionId": "auto"]) }
            #expect(exists?.code == RPCError.sessionExistsCode)
            #expect(try await client.call("getSession", ["sessionId": "auto"])["messageCount"] == 1)
        }
    }

    @Test("updateContext merges, removes keys with null, and reports the whole context")
    func updateContext() async throws {
        try await withDaemon { daemon in
            let client = try daemon.client()
            _ = try await client.call("create", ["sessionId": "s", "context": ["a": 1, "b": 2]])
            let updated = try await client.call("updateContext", ["sessionId": "s", "changes": ["b": .null, "sql": "SELECT 1"]])
            #expect(updated["context"] == ["a": 1, "sql": "SELECT 1"])
            #expect(updated["version"] == 3)
            let empty = await #expect(throws: RPCError.self) { try await client.call("updateContext", ["sessionId": "s", "changes": [:]]) }
            #expect(empty?.code == RPCError.invalidParamsCode && empty?.data?["field"] == "changes")
        }
    }

    @Test("a batch answers each call, and notifications are applied without an answer")
    func batchAndNotifications() async throws {
        try await withDaemon { daemon in
            let client = try daemon.client()
            _ = try await client.call("create", ["sessionId": "b"])
            let notification = Array(#"{"jsonrpc":"2.0","method":"add","params":{"sessionId":"b","role":"user","content":"quiet"}}"#.utf8) + [10]
            #expect(try await client.exchangeRaw(notification, expectAnswer: false) == nil)
            let calls: [String] = [
                #"{"jsonrpc":"2.0","id":"x","method":"add","params":{"sessionId":"b","role":"assistant","content":"one"}}"#,
                #"{"jsonrpc":"2.0","method":"add","params":{"sessionId":"b","role":"user","content":"two"}}"#,
                #"{"jsonrpc":"2.0","id":7,"method":"getSession","params":{"sessionId":"b"}}"#,
                #"{"jsonrpc":"2.0","id":8,"method":"nope"}"#,
            ]
            let batch: [UInt8] = Array("[\(calls.joined(separator: ","))]\n".utf8)
            let answer = try parse(try await client.exchangeRaw(batch))
            guard case .array(let responses) = answer else {
                Issue.record("a batch answer must be an array")
                return
            }
            #expect(responses.map { $0["id"] } == ["x", 7, 8])
            #expect(responses[2]["error"]?["code"] == .integer(Int64(RPCError.methodNotFoundCode)))
            let all = try await client.call("getContext", ["sessionId": "b", "window": 10])
            let messages = try #require(all["messages"]?.arrayValue)
            #expect(Set(messages.compactMap { $0["content"]?.stringValue }) == ["quiet", "one", "two"])
        }
    }
}

@Suite("OpenRPC document")
struct OpenRPCTests {
    @Test("schema/openrpc.json is the document rpc.discover serves, and it lists every method")
    func documentMatches() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("schema/openrpc.json")
        let stored = try JSONValue(parsing: Array(try Data(contentsOf: file)))
        #expect(stored == OpenRPCDocument.value, "run `make openrpc` after editing schema/openrpc.json")
        guard case .array(let methods)? = stored["methods"] else {
            Issue.record("no methods")
            return
        }
        let documented = Set(methods.compactMap { $0["name"]?.stringValue })
        let views = try ConversationViews.open(directory: FileManager.default.temporaryDirectory.appendingPathComponent("openrpc-\(UUID())"))
        defer { views.store.close() }
        let served = Set(ConvLogMethods.table(service: ConversationService(views: views)) { 0 }.keys).subtracting(["rpc.discover"])
        #expect(documented == served)
    }
}

@Suite("Topic tracking")
struct TopicTrackingTests {
    @Test("add writes only the message; getSession computes the topic of the latest user question that has one")
    func topicOnTheReadSide() async throws {
        try await withDaemon { daemon in
            let client = try daemon.client()
            _ = try await client.call("create", ["sessionId": "t"])
            #expect(try await client.call("getSession", ["sessionId": "t"])["lastTopic"] == nil, "no question yet")
            _ = try await client.call("add", ["sessionId": "t", "role": "user", "content": "What was the click rate in Spain last month?"])
            let clickRate = try await client.call("getSession", ["sessionId": "t"])["lastTopic"]
            #expect(clickRate?["metric"] == "click rate" || clickRate?["entity"] == "click rate", "\(String(describing: clickRate))")
            #expect(clickRate?["timeRange"] == "last month")
            _ = try await client.call("add", ["sessionId": "t", "role": "assistant", "content": "4.2%"])
            #expect(try await client.call("getSession", ["sessionId": "t"])["lastTopic"] == clickRate, "an answer does not change it")
            _ = try await client.call("add", ["sessionId": "t", "role": "user", "content": "How many artists start with A-E?"])
            #expect(try await client.call("getSession", ["sessionId": "t"])["lastTopic"]?["entity"] == "artists")

            let records = try daemon.views.store.events(inSession: "t")
            #expect(records.map(\.event.typeName) == ["SessionCreated", "MessageAdded", "MessageAdded", "MessageAdded"])
        }
    }
}
