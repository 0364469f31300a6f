import EventLog
import Foundation
import Testing
import JSON

@testable import Projections

func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("convlog-proj-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// A random but reproducible workload: sessions created, messages, context updates, unknown events.
struct Workload {
    fileprivate var generator: SplitMix64
    private var created: [String] = []
    /// Whether sessions are deleted now and then (whose earlier payloads are then erased).
    fileprivate let deletes: Bool

    init(seed: UInt64, deletes: Bool = true) {
        generator = SplitMix64(seed: seed)
        self.deletes = deletes
    }

    /// Appends `count` requests over `sessions` sessions to `store`; refused ones (version
    /// conflicts the workload provokes on purpose) are skipped.
    mutating func append(_ count: Int, sessions: Int, to store: EventStore) async {
        for _ in 0..<count { _ = try? await store.append(next(sessions: sessions)) }
    }

    mutating func next(sessions: Int) -> AppendRequest {
        let index = Int(generator.next() % UInt64(sessions))
        let session = "session-\(index)"
        guard created.contains(session) else {
            created.append(session)
            let user: String? = index % 3 == 0 ? nil : "user-\(index % 7)"
            var creation: [Event] = [.sessionCreated(SessionCreated(userID: user, metadata: ["n": .integer(Int64(index))]))]
            if index % 4 == 0 { creation.append(.retentionSet(RetentionSet(ttlSeconds: UInt64(60 + index)))) }
            return AppendRequest(sessionID: session, expectedVersion: 0, events: creation)
        }
        switch generator.next() % 10 {
        case 0:
            let key = "k\(generator.next() % 4)"
            let value: JSONValue = generator.next() % 3 == 0 ? .null : .integer(Int64(generator.next() % 100))
            return AppendRequest(sessionID: session, events: [.contextUpdated(ContextUpdated(changes: [key: value], source: .client))])
        case 1:
            return AppendRequest(sessionID: session, events: [.contextUpdated(ContextUpdated(changes: ["topic": .string("t\(generator.next() % 5)")], source: .analyzer))])
        case 2 where generator.next() % 5 == 0:
            return AppendRequest(sessionID: session, events: [.unrecognized(type: "FutureEvent", payload: [1, 2])])
        case 3:
            return AppendRequest(sessionID: session, events: [checkpointEvent()])
        default:
            let id = "m\(generator.next())"
            let role: MessageRole = generator.next() % 2 == 0 ? .user : .assistant
            return AppendRequest(sessionID: session, events: [.messageAdded(MessageAdded(messageID: id, role: role, content: .text("text \(id)")))])
        }
    }
}

extension Workload {
    /// A LangGraph checkpoint event (or a session deletion) on a few namespaces and ids, so puts,
    /// writes (first writer wins, special channels replaced), removals and deletions collide.
    fileprivate mutating func checkpointEvent() -> Event {
        let namespace = ["", "child:1"][Int(generator.next() % 2)]
        let id = "c\(generator.next() % 6)"
        let value = TypedBytes(type: "json", bytes: Array("\(generator.next() % 100)".utf8))
        switch generator.next() % 12 {
        case 0 where deletes:
            return .sessionDeleted(SessionDeleted(reason: "workload"))
        case 1, 2:
            return .checkpointsRemoved(CheckpointsRemoved(checkpoints: [CheckpointKey(namespace: namespace, checkpointID: id)]))
        case 3...6:
            let index = Int64(generator.next() % 4) - 2
            return .writesPut(WritesPut(namespace: namespace, checkpointID: id, taskID: "t\(generator.next() % 2)", taskPath: "",
                                        writes: [PendingWrite(index: index, channel: index < 0 ? "__error__" : "x", value: value)]))
        default:
            let version = "\(generator.next() % 3)"
            return .checkpointPut(CheckpointPut(
                namespace: namespace, checkpointID: id, parentID: nil, checkpoint: value, metadata: ["step": .integer(Int64(generator.next() % 3))],
                channelVersions: ["v": version], blobs: [ChannelBlob(channel: "v", version: version, value: .bytes(value))]
            ))
        }
    }
}

/// A small fixed-seed generator (the standard library's is not seedable).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func nosync() -> EventStore.Configuration {
    var configuration = EventStore.Configuration()
    configuration.durability = .nosync
    return configuration
}

@Suite("Projections in the store")
struct ProjectionStoreTests {
    @Test("10,000 random events across 300 sessions: the projections equal a fresh fold")
    func projectionEqualsFreshFold() async throws {
        try await withTemporaryDirectory { directory in
            let views = try ConversationViews.open(directory: directory, configuration: nosync(), windowCapacity: 7)
            defer { views.store.close() }
            var workload = Workload(seed: 42)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<10 {
                    // Ten concurrent streams of appends, so group commits hold many events.
                    var requests: [AppendRequest] = []
                    for _ in 0..<1_000 { requests.append(workload.next(sessions: 300)) }
                    let batch = requests
                    group.addTask { for request in batch { _ = try? await views.store.append(request) } }
                }
                try await group.waitForAll()
            }
            let checks = try views.store.verifyProjections()
            #expect(checks.map(\.name) == ["streams", "sessions", "window", "checkpoints", "retention"])
            for check in checks { #expect(check.holds, "\(check)") }
            #expect(try views.store.counts().events > 9_000)

            // And every session's state is the pure fold of its own events.
            for index in stride(from: 0, to: 300, by: 37) {
                let id = "session-\(index)"
                let folded = try views.store.events(inSession: id).reduce(nil) { SessionState.next($0, $1) }
                #expect(try views.session(id) == folded)
                let window = try views.store.events(inSession: id).reduce(RecentWindow(capacity: 7)) { $0.folding($1) }
                #expect(try views.context(of: id, window: 100)?.messages ?? [] == window.messages)
            }
        }
    }

    @Test("while the projections lag the log, every read overlays the events not applied yet, in this process and in a reader of another")
    func readsOverlayTheUnappliedTail() async throws {
        try await withTemporaryDirectory { directory in
            var configuration = nosync()
            configuration.materializeInterval = .seconds(3_600)  // only the test applies them
            configuration.materializeAfterEvents = .max
            let views = try ConversationViews.open(directory: directory, configuration: configuration, windowCapacity: 5)
            defer { views.store.close() }
            var workload = Workload(seed: 11)
            await workload.append(300, sessions: 20, to: views.store)
            try views.store.materializeProjections()
            await workload.append(300, sessions: 20, to: views.store)
            let lagging = try views.store.verifyProjections()
            #expect(lagging.allSatisfy { $0.holds }, "what the projections hold is right")
            #expect(lagging.filter { $0.name != "checkpoints" }.allSatisfy { $0.checkpoint < $0.head }, "the batched projections lag")

            var readOnly = nosync()
            readOnly.readOnly = true
            let other = try ConversationViews.open(directory: directory, configuration: readOnly)
            defer { other.store.close() }
            // The truth: pure folds of the raw log (read by sequence, which never lags).
            let log = try views.store.events()
            #expect(try views.store.counts() == other.store.counts())
            #expect(try views.store.counts().sessions == Set(log.map(\.sessionID)).count)
            for reader in [views, other] {
                for index in 0..<20 {
                    let id = "session-\(index)"
                    let own = log.filter { $0.sessionID == id }
                    #expect(try reader.store.events(inSession: id) == own)
                    #expect(try reader.store.events(inSession: id, direction: .backward, limit: 3) == Array(own.reversed().prefix(3)))
                    #expect(try reader.store.version(ofSession: id) == own.last?.sessionVersion)
                    let folded = own.reduce(nil) { SessionState.next($0, $1) }
                    #expect(try reader.session(id) == folded)
                    let window = own.reduce(RecentWindow(capacity: 5)) { $0.folding($1) }
                    #expect(try reader.context(of: id, window: 3)?.messages ?? [] == Array(window.messages.suffix(3)))
                }
                // Newest first, across the applied and the unapplied sessions, page by page.
                let expected = Dictionary(grouping: log, by: \.sessionID).values
                    .compactMap { $0.reduce(nil) { SessionState.next($0, $1) } }
                    .sorted { ($0.lastUpdated, $0.sessionID) > ($1.lastUpdated, $1.sessionID) }
                var listed: [SessionState] = []
                var cursor: SessionCursor?
                repeat {
                    let page = try reader.listSessions(limit: 6, after: cursor)
                    listed += page.sessions
                    cursor = page.nextCursor
                } while cursor != nil
                #expect(listed == expected)
                #expect(try reader.listSessions(userID: "user-1", limit: 100).sessions == expected.filter { $0.userID == "user-1" })
            }

            // Idempotency and versions see the unapplied tail: a retried message is a duplicate.
            let last = try #require(log.last { if case .messageAdded = $0.event { true } else { false } })
            guard case .messageAdded(let message) = last.event else { return }
            let retry = try await views.store.append(AppendRequest(sessionID: last.sessionID, events: [.messageAdded(message)]))
            #expect(retry.isDuplicate && retry.positions.map(\.sequence) == [last.sequence])
            let current = try #require(try views.store.version(ofSession: last.sessionID))
            await #expect(throws: EventStoreError.self) {
                try await views.store.append(AppendRequest(sessionID: last.sessionID, expectedVersion: current - 1, events: [.contextUpdated(ContextUpdated(changes: ["a": 1], source: .client))]))
            }

            try views.store.materializeProjections()
            let applied = try views.store.verifyProjections()
            #expect(applied.allSatisfy { $0.holds && $0.checkpoint == $0.head })
        }
    }

    @Test("appends commit while rebuild folds, and land in the rebuilt projections")
    func appendsDuringRebuild() async throws {
        try await withTemporaryDirectory { directory in
            let views = try ConversationViews.open(directory: directory, configuration: nosync(), windowCapacity: 5)
            defer { views.store.close() }
            for batch in 0..<1_700 {
                let events = (0..<64).map { Event.messageAdded(MessageAdded(messageID: "m\(batch)-\($0)", role: .user, content: .text("x"))) }
                _ = try await views.store.append(AppendRequest(sessionID: "s\(batch % 50)", events: events))
            }
            // The fold reports progress every 100,000 events: an append made then must commit
            // before the fold ends (it would wait for the whole rebuild if the fold held the write lock).
            let appendedDuringFold = AppendWatch()
            try views.store.rebuild { _ in
                guard !appendedDuringFold.started else { return }
                appendedDuringFold.start(views.store)
                appendedDuringFold.waitUntilCommitted(seconds: 30)
            }
            #expect(appendedDuringFold.committed)
            let checks = try views.store.verifyProjections()
            #expect(checks.allSatisfy { $0.holds && $0.checkpoint == $0.head }, "\(checks)")
            #expect(try views.context(of: "during-rebuild", window: 5)?.messages.map(\.message.messageID) == ["late"])
        }
    }

    @Test("rebuild is bit-identical, and a lost checkpoint is caught up on open")
    func rebuildAndCatchUp() async throws {
        try await withTemporaryDirectory { directory in
            var views = try ConversationViews.open(directory: directory, configuration: nosync(), windowCapacity: 5)
            var workload = Workload(seed: 7)
            await workload.append(2_000, sessions: 40, to: views.store)
            try views.store.materializeProjections()
            let before = try views.store.verifyProjections()
            #expect(before.allSatisfy { $0.checkpoint == $0.head }, "applied through the head")
            #expect(before.allSatisfy { $0.holds })

            var reported: [UInt64] = []
            let summary = try views.store.rebuild { reported.append($0) }
            #expect(summary.eventsFolded == UInt64(try views.store.counts().events))
            #expect(summary.rowsWritten == 0 && summary.rowsDeleted == 0, "sound projections: nothing rewritten")
            let after = try views.store.verifyProjections()
            #expect(after.map(\.storedDigest) == before.map(\.storedDigest))
            #expect(after.allSatisfy { $0.holds })

            // Lose the checkpoints and corrupt a table; reopening rebuilds from the log.
            try views.store.environment.write { txn in
                for name in ["sessions", "window"] { _ = try txn.delete(views.store.schema.meta, key: Array("checkpoint.\(name)".utf8)) }
                try txn.put(views.window.window, key: Array("bogus".utf8), value: [1])
            }
            views.store.close()
            views = try ConversationViews.open(directory: directory, configuration: nosync(), windowCapacity: 5)
            defer { views.store.close() }
            let reopened = try views.store.verifyProjections()
            #expect(reopened.map(\.storedDigest) == before.map(\.storedDigest))
            #expect(reopened.allSatisfy { $0.holds })
        }
    }

    @Test("rebuild rewrites only the rows that differ from the fold, and counts them")
    func rebuildRepairsRows() async throws {
        try await withTemporaryDirectory { directory in
            let views = try ConversationViews.open(directory: directory, configuration: nosync(), windowCapacity: 5)
            defer { views.store.close() }
            var workload = Workload(seed: 11)
            await workload.append(600, sessions: 30, to: views.store)
            try views.store.materializeProjections()
            let sound = try views.store.verifyProjections()

            // In the window: a row altered, one removed, a stray one between two; in the streams
            // index: its first row (the session count) altered, a stray row after every key.
            let (windowKeys, streamKeys) = try views.store.environment.read { txn in
                (try allKeys(of: views.window.window, txn: txn), try allKeys(of: views.store.schema.streams, txn: txn))
            }
            try views.store.environment.write { txn in
                try txn.put(views.window.window, key: windowKeys[3], value: [9, 9])
                #expect(try txn.delete(views.window.window, key: windowKeys[10]))
                try txn.put(views.window.window, key: windowKeys[5] + [0xFF], value: [1])
                try txn.put(views.store.schema.streams, key: streamKeys[0], value: [1])
                try txn.put(views.store.schema.streams, key: streamKeys.last! + [0], value: [1])
            }
            #expect(try !views.store.verifyProjections().allSatisfy { $0.holds })

            let summary = try views.store.rebuild()
            #expect(summary.rowsWritten == 3)
            #expect(summary.rowsDeleted == 2)
            let repaired = try views.store.verifyProjections()
            #expect(repaired.map(\.storedDigest) == sound.map(\.storedDigest))
            #expect(repaired.allSatisfy { $0.holds })
            #expect(try views.store.rebuild() == RebuildSummary(eventsFolded: summary.eventsFolded))
        }
    }

    @Test("rebuild stops at the first record that does not decode, though records are decoded on every core")
    func rebuildReportsFirstUndecodableRecord() async throws {
        try await withTemporaryDirectory { directory in
            let views = try ConversationViews.open(directory: directory, configuration: nosync())
            defer { views.store.close() }
            var workload = Workload(seed: 5)
            await workload.append(1_200, sessions: 20, to: views.store)
            // Two records of one decoding chunk, far apart, claim formats this build does not know.
            try views.store.environment.write { txn in
                for (sequence, format) in [(UInt64(100), UInt8(9)), (900, 7)] {
                    var record = Array(try #require(try txn.get(views.store.schema.events, key: LogSchema.sequenceKey(sequence))))
                    record[0] = format
                    try txn.put(views.store.schema.events, key: LogSchema.sequenceKey(sequence), value: record)
                }
            }
            #expect(throws: RecordDecodingError.unsupportedFormatVersion(9)) { try views.store.rebuild() }
        }
    }

    @Test("a projection behind the log catches up from its checkpoint")
    func catchUpFromCheckpoint() async throws {
        try await withTemporaryDirectory { directory in
            // Write events with no projections at all, then open with them.
            let bare = try EventStore(directory: directory, configuration: nosync())
            var workload = Workload(seed: 3)
            await workload.append(500, sessions: 20, to: bare)
            bare.close()
            let views = try ConversationViews.open(directory: directory, configuration: nosync())
            defer { views.store.close() }
            #expect(try views.store.verifyProjections().allSatisfy { $0.holds })
            #expect(try views.session("session-1") != nil)
        }
    }

    @Test("a new window capacity rebuilds the window; readers adopt the stored capacity")
    func capacityChange() async throws {
        try await withTemporaryDirectory { directory in
            var views = try ConversationViews.open(directory: directory, configuration: nosync(), windowCapacity: 3)
            for index in 0..<10 { _ = try await views.store.append(AppendRequest(sessionID: "s", events: [text("m\(index)")])) }
            #expect(try views.context(of: "s", window: 100)?.messages.count == 3)
            views.store.close()

            views = try ConversationViews.open(directory: directory, configuration: nosync(), windowCapacity: 6)
            #expect(try views.store.verifyProjections().allSatisfy { $0.holds })
            #expect(try views.context(of: "s", window: 100)?.messages.map(\.message.messageID) == (4..<10).map { "m\($0)" })
            views.store.close()

            var readOnly = nosync()
            readOnly.readOnly = true
            let reader = try ConversationViews.open(directory: directory, configuration: readOnly)
            defer { reader.store.close() }
            #expect(reader.window.capacity == 6)
            #expect(try reader.store.verifyProjections().allSatisfy { $0.holds })
        }
    }

    @Test("rebuild names an unknown projection")
    func rebuildUnknown() async throws {
        try await withTemporaryDirectory { directory in
            let views = try ConversationViews.open(directory: directory, configuration: nosync())
            defer { views.store.close() }
            let error = #expect(throws: EventStoreError.self) { try views.store.rebuild(["nope"]) }
            #expect(error?.message.contains("nope") == true)
        }
    }

    @Test("the window as of sequence s equals the window of the log truncated at s")
    func timeTravel() async throws {
        try await withTemporaryDirectory { directory in
            let full = try ConversationViews.open(directory: directory.appendingPathComponent("full"), configuration: nosync(), windowCapacity: 50)
            let truncated = try ConversationViews.open(directory: directory.appendingPathComponent("cut"), configuration: nosync(), windowCapacity: 50)
            defer {
                full.store.close()
                truncated.store.close()
            }
            // Without deletions: a deletion erases the past it would travel to.
            var workload = Workload(seed: 11, deletes: false)
            let cut: UInt64 = 700
            for _ in 0..<1_500 {
                let request = workload.next(sessions: 10)
                let result = try? await full.store.append(request)
                if let sequence = result?.positions.last?.sequence, sequence <= cut { _ = try await truncated.store.append(request) }
            }
            #expect(try truncated.store.head().sequence == cut)
            for index in 0..<10 {
                let id = "session-\(index)"
                let past = try full.messages(of: id, count: 8, asOf: cut)
                let expected = try truncated.context(of: id, window: 8)?.messages ?? []
                #expect(past.map(\.sequence) == expected.map(\.sequence))
                #expect(past.map(\.message) == expected.map(\.message))
                var pastState = try full.session(id, asOf: cut)
                var expectedState = try truncated.session(id)
                pastState?.createdAt = 0; pastState?.lastUpdated = 0
                expectedState?.createdAt = 0; expectedState?.lastUpdated = 0
                #expect(pastState == expectedState)
            }
        }
    }

    @Test("sessions are listed newest first, paged, and per user")
    func listing() async throws {
        try await withTemporaryDirectory { directory in
            let views = try ConversationViews.open(directory: directory, configuration: nosync())
            defer { views.store.close() }
            for index in 0..<7 {
                _ = try await views.store.append(AppendRequest(sessionID: "s\(index)", events: [.sessionCreated(SessionCreated(userID: index % 2 == 0 ? "even" : "odd"))]))
                try await Task.sleep(for: .milliseconds(3))  // distinct update times
            }
            _ = try await views.store.append(AppendRequest(sessionID: "s0", events: [text("late")]))

            var seen: [String] = []
            var cursor: SessionCursor?
            repeat {
                let page = try views.listSessions(limit: 3, after: cursor)
                seen += page.sessions.map(\.sessionID)
                cursor = page.nextCursor
                if let token = cursor?.token { cursor = SessionCursor(token: token) }
            } while cursor != nil
            #expect(seen == ["s0", "s6", "s5", "s4", "s3", "s2", "s1"])
            #expect(try views.listSessions(userID: "even", limit: 10).sessions.map(\.sessionID) == ["s0", "s6", "s4", "s2"])
            #expect(try views.listSessions(userID: "odd", limit: 2).sessions.map(\.sessionID) == ["s5", "s3"])
            #expect(try views.listSessions(userID: "nobody", limit: 5).sessions.isEmpty)
            #expect(SessionCursor(token: "zz") == nil)
        }
    }
}

/// Every key of `table`, in order.
private func allKeys(of table: LMDBDatabase, txn: borrowing LMDBTransaction) throws -> [[UInt8]] {
    try txn.withCursor(table) { cursor in
        var keys: [[UInt8]] = []
        var entry = try cursor.first()
        while let current = entry {
            keys.append(Array(current.key))
            entry = try cursor.next()
        }
        return keys
    }
}

/// An append started from inside a rebuild's progress callback, and whether it committed.
private final class AppendWatch: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    // Written before `done` is signalled, read after.
    private(set) var started = false
    private(set) var committed = false

    func start(_ store: EventStore) {
        started = true
        let request = AppendRequest(
            sessionID: "during-rebuild",
            whenMissing: .create(with: [.sessionCreated(SessionCreated())]),
            events: [.messageAdded(MessageAdded(messageID: "late", role: .user, content: .text("written while the fold ran")))]
        )
        store.append(request) { outcome in
            if case .success = outcome { self.committed = true }
            self.done.signal()
        }
    }

    func waitUntilCommitted(seconds: Int) { _ = done.wait(timeout: .now() + .seconds(seconds)) }
}
