import ConvLog
import EventLog
import Foundation
import JSON
import Projections
import Testing

/// The checkpointer's rules, on a real log (the RPC and Python layers are tested in clients/python/tests/test_langgraph.py).
@Suite("LangGraph checkpoints in the log")
struct CheckpointServiceTests {
    static func withService(_ body: (ConversationService) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("convlog-cp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let views = try ConversationViews.open(directory: directory)
        defer { views.store.close() }
        try await body(ConversationService(views: views))
    }

    static func put(
        _ thread: String,
        _ id: String,
        parent: String? = nil,
        namespace: String = "",
        metadata: [String: JSONValue] = [:],
        values: [(channel: String, version: String, value: ChannelValueInput)] = []
    ) -> PutCheckpointRequest {
        PutCheckpointRequest(
            threadID: thread,
            namespace: namespace,
            checkpointID: id,
            parentID: parent,
            checkpoint: TypedBytes(type: "json", bytes: Array("{\"id\":\"\(id)\"}".utf8)),
            metadata: metadata,
            channelVersions: Dictionary(values.map { ($0.channel, $0.version) }) { first, _ in first },
            values: values
        )
    }

    static func message(_ id: String, _ text: String, role: MessageRole = .user) -> MessageAdded {
        MessageAdded(messageID: id, role: role, content: .text(text), metadata: ["langchain": ["id": .string(id)]])
    }

    static func bytes(_ text: String) -> TypedBytes { TypedBytes(type: "json", bytes: Array(text.utf8)) }

    @Test("pending writes: accepted before their checkpoint, first writer wins, special channels replaced, sorted by task path, task, index")
    func pendingWrites() async throws {
        try await Self.withService { service in
            try await service.putWrites(threadID: "t", namespace: "", checkpointID: "c1", taskID: "b", taskPath: "p2",
                                        writes: [PendingWrite(index: 0, channel: "x", value: Self.bytes("1"))])
            _ = try await service.putCheckpoint(Self.put("t", "c1"))
            try await service.putWrites(threadID: "t", namespace: "", checkpointID: "c1", taskID: "a", taskPath: "p1", writes: [
                PendingWrite(index: 1, channel: "y", value: Self.bytes("first")),
                PendingWrite(index: -1, channel: "__error__", value: Self.bytes("\"old\"")),
            ])
            // A retry with other values: the ordinary write keeps the first value, the error is replaced.
            try await service.putWrites(threadID: "t", namespace: "", checkpointID: "c1", taskID: "a", taskPath: "p1", writes: [
                PendingWrite(index: 1, channel: "y", value: Self.bytes("second")),
                PendingWrite(index: -1, channel: "__error__", value: Self.bytes("\"new\"")),
            ])
            let stored = try #require(try service.checkpoint(threadID: "t", namespace: "", checkpointID: nil))
            #expect(stored.checkpointID == "c1")
            #expect(stored.pendingWrites.map { "\($0.taskPath)/\($0.taskID)/\($0.write.index)" } == ["p1/a/-1", "p1/a/1", "p2/b/0"])
            #expect(stored.pendingWrites.map { String(decoding: $0.write.value.bytes, as: UTF8.self) } == ["\"new\"", "first", "1"])
            // Another namespace's checkpoint of the same id does not see them.
            _ = try await service.putCheckpoint(Self.put("t", "c1", namespace: "child:1"))
            #expect(try service.checkpoint(threadID: "t", namespace: "child:1", checkpointID: "c1")?.pendingWrites.isEmpty == true)
        }
    }

    @Test("deleteThread fences: late writes for deleted checkpoints are refused, a new conversation is accepted")
    func fence() async throws {
        try await Self.withService { service in
            _ = try await service.putCheckpoint(Self.put("t", "c1"))
            _ = try await service.putCheckpoint(Self.put("t", "c2", parent: "c1"))
            _ = try await service.putCheckpoint(Self.put("t", "c5", namespace: "child:1"))
            #expect(try await service.deleteThread("t"))
            #expect(try service.checkpoint(threadID: "t", namespace: "", checkpointID: nil) == nil)
            #expect(try service.listCheckpoints(threadID: "t", namespace: nil, limit: 10).isEmpty)
            for late in ["c1", "c2", "c5"] {
                await #expect(throws: ConvLogError.self) { _ = try await service.putCheckpoint(Self.put("t", late)) }
                do {
                    try await service.putWrites(threadID: "t", namespace: "", checkpointID: late, taskID: "w", taskPath: "",
                                                writes: [PendingWrite(index: 0, channel: "x", value: Self.bytes("1"))])
                    Issue.record("a late write for \(late) was accepted")
                } catch let error as ConvLogError {
                    #expect(error.code == .threadDeleted && error.field == "checkpointId")
                }
            }
            _ = try await service.putCheckpoint(Self.put("t", "c6"))
            #expect(try service.checkpoint(threadID: "t", namespace: "", checkpointID: nil)?.checkpointID == "c6")
            #expect(try await service.deleteThread("never-used") == false)
        }
    }

    @Test("messages are stored once; an edited message or a stale reference is a messageConflict")
    func messagesOnce() async throws {
        try await Self.withService { service in
            let q1 = Self.message("q1", "How many artists start with A-E?")
            let a1 = Self.message("a1", "86", role: .assistant)
            let first = try await service.putCheckpoint(Self.put("chat", "c1", values: [("messages", "1", .messages([.full(q1)]))]))
            #expect(first.messageVersions["messages"] == [2], "version 1 is the thread's SessionCreated")
            let second = try await service.putCheckpoint(
                Self.put("chat", "c2", parent: "c1", values: [("messages", "2", .messages([.full(q1), .full(a1)]))])
            )
            #expect(second.messageVersions["messages"] == [2, 4], "q1 is referred to, a1 is new (c1 is version 3)")
            let third = try await service.putCheckpoint(
                Self.put("chat", "c3", parent: "c2", values: [("messages", "3", .messages([.stored(messageID: "q1", version: 2), .full(a1)]))])
            )
            #expect(third.messageVersions["messages"] == [2, 4])
            let stored = try #require(try service.checkpoint(threadID: "chat", namespace: "", checkpointID: "c2"))
            guard case .messages(let messages)? = stored.values["messages"]?.value else { Issue.record("no message list"); return }
            #expect(messages.map(\.message) == [q1, a1] && messages.map(\.version) == [2, 4])
            // A reader holding q1 gets it without its body.
            let hinted = try #require(try service.checkpoint(threadID: "chat", namespace: "", checkpointID: "c2", knownMessageVersions: [2]))
            guard case .messages(let light)? = hinted.values["messages"]?.value else { Issue.record("no message list"); return }
            #expect(light.map(\.message) == [nil, a1] && light.map(\.version) == [2, 4])
            // References are checked against the index once materialized, as against the tail before.
            try service.views.store.materializeProjections()
            await #expect(throws: ConvLogError.self) {
                _ = try await service.putCheckpoint(Self.put("chat", "c9", values: [("messages", "9", .messages([.stored(messageID: "a1", version: 2)]))]))
            }
            #expect(try await service.putCheckpoint(Self.put("chat", "c9", values: [("messages", "9", .messages([.stored(messageID: "a1", version: 4)]))])).messageVersions["messages"] == [4])
            let events = try service.views.store.events(inSession: "chat")
            #expect(events.filter { if case .messageAdded = $0.event { true } else { false } }.count == 2)

            let edited = Self.message("q1", "How many artists start with F?")
            await #expect(throws: ConvLogError.self) {
                _ = try await service.putCheckpoint(Self.put("chat", "c4", values: [("messages", "4", .messages([.full(edited)]))]))
            }
            await #expect(throws: ConvLogError.self) {
                _ = try await service.putCheckpoint(Self.put("chat", "c4", values: [("messages", "4", .messages([.stored(messageID: "q1", version: 4)]))]))
            }
            // The session is the thread's conversation.
            #expect(try service.context(of: "chat", window: 5).messages.map(\.message.messageID) == ["q1", "a1"])
        }
    }

    @Test("concurrent puts with new messages on one thread: every message stored once, every checkpoint stored")
    func concurrentPuts() async throws {
        try await Self.withService { service in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        let shared = Self.message("shared", "the same first message")
                        let own = Self.message("m\(index)", "message \(index)")
                        _ = try await service.putCheckpoint(
                            Self.put("busy", "c\(index)", values: [("messages", "\(index)", .messages([.full(shared), .full(own)]))])
                        )
                    }
                }
                try await group.waitForAll()
            }
            let events = try service.views.store.events(inSession: "busy")
            let messageIDs = events.compactMap { if case .messageAdded(let message) = $0.event { message.messageID } else { nil } }
            #expect(messageIDs.count == 13 && Set(messageIDs).count == 13)
            #expect(try service.listCheckpoints(threadID: "busy", namespace: "", limit: 100).count == 12)
            for index in 0..<12 {
                let stored = try #require(try service.checkpoint(threadID: "busy", namespace: "", checkpointID: "c\(index)"))
                guard case .messages(let messages)? = stored.values["messages"]?.value else { Issue.record("no message list"); return }
                #expect(messages.map(\.message?.messageID) == ["shared", "m\(index)"])
            }
        }
    }

    @Test("list, copy, prune, delete runs; the projection equals a fresh fold and survives a rebuild")
    func maintenanceAndVerification() async throws {
        try await Self.withService { service in
            for (index, id) in ["a1", "a2", "a3"].enumerated() {
                _ = try await service.putCheckpoint(
                    Self.put("src", id, parent: index == 0 ? nil : "a\(index)", metadata: ["step": .integer(Int64(index)), "run_id": .string(index == 1 ? "run-x" : "run-y")],
                             values: [("v", "\(index)", .bytes(Self.bytes("\(index)")))])
                )
            }
            _ = try await service.putCheckpoint(Self.put("src", "b1", namespace: "child:1", values: [("v", "9", .bytes(Self.bytes("9")))]))
            try await service.putWrites(threadID: "src", namespace: "", checkpointID: "a3", taskID: "t", taskPath: "",
                                        writes: [PendingWrite(index: 0, channel: "x", value: Self.bytes("w"))])
            #expect(try service.listCheckpoints(threadID: "src", namespace: nil, limit: 10).map(\.checkpointID) == ["b1", "a3", "a2", "a1"])
            #expect(try service.listCheckpoints(threadID: "src", namespace: "", filter: ["run_id": "run-y"], limit: 10).map(\.checkpointID) == ["a3", "a1"])
            #expect(try service.listCheckpoints(threadID: "src", namespace: "", before: "a3", limit: 1).map(\.checkpointID) == ["a2"])

            #expect(try await service.copyThread(from: "src", to: "dst"))
            let copied = try #require(try service.checkpoint(threadID: "dst", namespace: "", checkpointID: nil))
            #expect(copied.checkpointID == "a3" && copied.pendingWrites.count == 1)
            guard case .bytes(let value)? = copied.values["v"]?.value else { Issue.record("no value"); return }
            #expect(value == Self.bytes("2"))

            #expect(try await service.deleteForRuns(["run-x"]) == 2, "a2 of src and its copy in dst")
            #expect(try await service.prune(["src"], strategy: .keepLatest) == 1)
            #expect(try service.listCheckpoints(threadID: "src", namespace: nil, limit: 10).map(\.checkpointID) == ["b1", "a3"])
            #expect(try await service.deleteThread("dst"))

            let store = service.views.store
            #expect(try store.verifyProjections().allSatisfy(\.holds))
            try store.materializeProjections()  // the lazy projections too, so that digests compare at the same head
            let before = try store.verifyProjections().map(\.storedDigest)
            try store.rebuild()
            #expect(try store.verifyProjections().map(\.storedDigest) == before)
            #expect(try store.verifyProjections().allSatisfy(\.holds))
        }
    }

    @Test("a copied thread holds its own messages: deleting the source leaves the copy whole")
    func copyStandsAlone() async throws {
        try await Self.withService { service in
            let q1 = Self.message("q1", "How many artists start with A-E?")
            let a1 = Self.message("a1", "86", role: .assistant)
            _ = try await service.putCheckpoint(Self.put("src", "c1", values: [("messages", "1", .messages([.full(q1)]))]))
            _ = try await service.putCheckpoint(Self.put("src", "c2", parent: "c1", values: [("messages", "2", .messages([.full(q1), .full(a1)]))]))
            #expect(try await service.copyThread(from: "src", to: "dst"))
            #expect(try await service.deleteThread("src"))
            try service.views.store.erasePendingDeletions()
            for (id, expected) in [("c1", [q1]), ("c2", [q1, a1])] {
                let copied = try #require(try service.checkpoint(threadID: "dst", namespace: "", checkpointID: id))
                guard case .messages(let messages)? = copied.values["messages"]?.value else { Issue.record("no message list in \(id)"); return }
                #expect(messages.map(\.message) == expected)
            }
            #expect(try service.context(of: "dst", window: 5).messages.map(\.message.messageID) == ["q1", "a1"], "the copy's session holds the messages once")
            #expect(try service.views.store.verifyProjections().allSatisfy(\.holds))
        }
    }

    @Test("bad input: typed errors naming the field")
    func badInput() async throws {
        try await Self.withService { service in
            let cases: [(PutCheckpointRequest, String)] = [
                (Self.put("has space", "c"), "threadId"),
                (Self.put("t", ""), "checkpointId"),
                (Self.put("t", "c", namespace: "ns\u{1}"), "checkpointNs"),
                (Self.put("t", "c", namespace: "child:1", values: [("messages", "1", .messages([.full(Self.message("m", "x"))]))]), "values[messages].messages"),
            ]
            for (request, field) in cases {
                do {
                    _ = try await service.putCheckpoint(request)
                    Issue.record("accepted a request with a bad \(field)")
                } catch let error as ConvLogError {
                    #expect(error.code == .invalidParams && error.field == field)
                }
            }
            await #expect(throws: ConvLogError.self) { try await service.copyThread(from: "t", to: "t") }
        }
    }
}
