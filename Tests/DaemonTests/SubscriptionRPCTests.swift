import ConvLog
import ConvLogClient
import ConvLogRPC
import EventLog
import Foundation
import JSON
import JSONRPC
import Projections
import Testing

@Suite("Live tail over the socket")
struct SubscriptionRPCTests {
    @Test("subscribe: the answer, the history, caughtUp, then each add as it commits; unsubscribe stops it")
    func historyThenLive() async throws {
        try await withDaemon { daemon in
            let writer = try daemon.client()
            _ = try await writer.call("create", ["sessionId": "chat-1"])
            _ = try await writer.call("add", ["sessionId": "chat-1", "role": "user", "content": "How many artists start with A-E?"])
            // A short timeout: the end of the test waits it out to see that nothing more comes.
            let tail = try ConvLogClient(socketPath: daemon.socketPath, timeout: .seconds(1))
            let subscribed = try await tail.call("subscribe", ["fromSequence": 1])
            let id = try #require(subscribed["subscription"]?.stringValue)
            #expect(subscribed["fromSequence"] == 1)

            var history = try await notifications(from: tail, count: 3)
            #expect(history.map(\.method) == ["event", "event", "caughtUp"])
            #expect(history.allSatisfy { $0.params?["subscription"]?.stringValue == id })
            #expect(history.compactMap { $0.params?["event"]?["type"]?.stringValue } == [EventType.sessionCreated, EventType.messageAdded])
            #expect(history[2].params?["sequence"] == 2)

            let added = try await writer.call("add", ["sessionId": "chat-1", "role": "assistant", "content": "86"])
            history = try await notifications(from: tail, count: 1)
            #expect(history[0].params?["event"]?["sequence"] == added["sequence"])
            #expect(history[0].params?["event"]?["data"]?["content"] == "86")

            #expect(try await tail.call("unsubscribe", ["subscription": .string(id)]) == ["unsubscribed": true])
            #expect(try await tail.call("unsubscribe", ["subscription": .string(id)]) == ["unsubscribed": false])
            _ = try await writer.call("add", ["sessionId": "chat-1", "role": "user", "content": "Who are those artists?"])
            _ = try await tail.call("health")
            #expect(try await tail.nextNotification() == nil)
            #expect(try await writer.call("stats")["subscriptions"] == 0)
        }
    }

    @Test("filters by session and type; a connection's subscriptions end with it")
    func filtersAndDisconnect() async throws {
        try await withDaemon { daemon in
            let writer = try daemon.client()
            let tail = try daemon.client()
            _ = try await tail.call("subscribe", ["sessionId": "watched", "types": ["MessageAdded"]])
            _ = try await tail.call("subscribe", [:])
            #expect(try await writer.call("stats")["subscriptions"] == 2)
            for session in ["other", "watched"] {
                _ = try await writer.call("add", ["sessionId": .string(session), "role": "user", "content": "hello", "createIfMissing": true])
            }
            // Each subscription first says it caught up (it starts at the end of the log); then 5 events.
            let received = try await notifications(from: tail, count: 7)
            #expect(received.filter { $0.method == "caughtUp" }.count == 2)
            let events = received.filter { $0.method == "event" }
            let bySubscription = Dictionary(grouping: events) { $0.params?["subscription"]?.stringValue ?? "" }
            #expect(Set(bySubscription.values.map(\.count)) == [1, 4])
            let filtered = try #require(bySubscription.values.first { $0.count == 1 })
            #expect(filtered[0].params?["event"]?["sessionId"] == "watched")
            #expect(filtered[0].params?["event"]?["type"] == "MessageAdded")
            tail.close()
            try await waitUntil { try await writer.call("stats")["subscriptions"] == 0 }
        }
    }

    @Test("bad parameters are typed errors naming the field; a connection holds a bounded number of subscriptions")
    func badInput() async throws {
        try await withDaemon(configure: { $0.maximumStreamsPerConnection = 2 }) { daemon in
            let client = try daemon.client()
            let cases: [(JSONValue, String)] = [
                (["fromSequence": 0], "fromSequence"),
                (["fromSequence": "1"], "fromSequence"),
                (["types": ["MesageAdded"]], "types"),
                (["types": []], "types"),
                (["types": "MessageAdded"], "types"),
                (["sessionId": "no spaces"], "sessionId"),
                (["from": 1], "from"),
            ]
            for (params, field) in cases {
                do {
                    _ = try await client.call("subscribe", params)
                    Issue.record("subscribe accepted \(params)")
                } catch let error as RPCError {
                    #expect(error.code == RPCError.invalidParamsCode)
                    #expect(error.data?["field"]?.stringValue == field, "\(params)")
                }
            }
            await #expect(throws: RPCError.self) { try await client.call("unsubscribe", [:]) }
            _ = try await client.call("subscribe", [:])
            _ = try await client.call("subscribe", [:])
            do {
                _ = try await client.call("subscribe", [:])
                Issue.record("a third subscription was accepted")
            } catch let error as RPCError {
                #expect(error.code == RPCError.invalidRequestCode)
                #expect(error.message.contains("at most 2"))
            }
            #expect(try await client.call("stats")["subscriptions"] == 2, "the refused one left nothing behind")
        }
    }

    @Test("a subscriber that does not read is ended as too slow, with where to resume; appends go on; resuming loses nothing")
    func slowSubscriber() async throws {
        var limits = ServiceLimits()
        limits.subscriberBound = LogSubscription.Bound(events: 16)
        try await withDaemon(limits: limits) { daemon in
            let writer = try daemon.client()
            _ = try await writer.call("create", ["sessionId": "big"])
            let reader = try daemon.client()
            let start = try #require(try await writer.call("stats")["headSequence"]?.integerValue) + 1
            _ = try await reader.call("subscribe", ["fromSequence": .integer(start)])
            // 200 × 32 KiB: far more than the socket and the connection's buffer hold.
            let content = JSONValue.string(String(repeating: "x", count: 32 << 10))
            var last: Int64 = 0
            for _ in 0..<200 {
                last = try #require(try await writer.call("add", ["sessionId": "big", "role": "user", "content": content])["sequence"]?.integerValue)
            }
            var sequences: [Int64] = []
            var ended: JSONValue?
            while ended == nil {
                let notification = try #require(try await reader.nextNotification(), "the stream stopped without an end")
                switch notification.method {
                case "event": sequences.append(try #require(notification.params?["event"]?["sequence"]?.integerValue))
                case "subscriptionEnded": ended = notification.params?["error"]
                case "caughtUp": #expect(sequences.isEmpty, "it catches up before any event (it starts at the head)")
                default: Issue.record("unexpected \(notification.method)")
                }
            }
            #expect(ended?["code"] == .integer(Int64(RPCError.subscriberTooSlowCode)))
            let resumeFrom = try #require(ended?["data"]?["resumeFrom"]?.integerValue)
            #expect(sequences == Array(start..<resumeFrom), "delivered gap-free up to where to resume")
            #expect(resumeFrom <= last)

            _ = try await reader.call("subscribe", ["fromSequence": .integer(resumeFrom)])
            var rest: [Int64] = []
            while rest.last != last {
                let notification = try #require(try await reader.nextNotification())
                if notification.method == "event" { rest.append(try #require(notification.params?["event"]?["sequence"]?.integerValue)) }
            }
            #expect(rest == Array(resumeFrom...last))
        }
    }

    @Test("subscribe needs a connection: the dispatcher alone refuses it")
    func needsConnection() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("convlog-sub-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let views = try ConversationViews.open(directory: directory)
        defer { views.store.close() }
        let dispatcher = RPCDispatcher(methods: ConvLogMethods.table(service: ConversationService(views: views)) { 0 }, mapError: ConvLogMethods.mapError)
        let frame = Array(#"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{}}"#.utf8)
        guard case .ready(let answer?) = frame.withUnsafeBytes({ dispatcher.handle(frame: $0) }) else {
            Issue.record("no immediate answer")
            return
        }
        let response = try JSONValue(parsing: answer)
        #expect(response["error"]?["code"] == .integer(Int64(RPCError.invalidRequestCode)))
    }

    /// The next `count` notifications.
    private func notifications(from client: ConvLogClient, count: Int) async throws -> [ConvLogClient.RPCNotification] {
        var received: [ConvLogClient.RPCNotification] = []
        while received.count < count {
            received.append(try #require(try await client.nextNotification(), "no notification within the client's timeout"))
        }
        return received
    }

    /// Polls `condition` every 10 ms for up to 10 s.
    private func waitUntil(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
