import Foundation
import Testing

@testable import EventLog

@Suite("Event store")
struct EventStoreTests {
    @Test("appends are read back by position and by session, in both directions")
    func appendAndRead() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            defer { store.close() }
            let created = try await store.append(
                AppendRequest(sessionID: "a", expectedVersion: 0, events: [.sessionCreated(SessionCreated(userID: "u"))])
            )
            #expect(created.positions.map(\.sequence) == [1])
            #expect(created.positions[0].sessionVersion == 1)
            #expect(!created.isDuplicate)
            _ = try await store.append(AppendRequest(sessionID: "b", events: [message("b1")]))
            let added = try await store.append(AppendRequest(sessionID: "a", expectedVersion: 1, events: [message("a1"), message("a2")]))
            #expect(added.positions.map(\.sequence) == [3, 4])
            #expect(added.positions.map(\.sessionVersion) == [2, 3])

            #expect(try store.events().map(\.sequence) == [1, 2, 3, 4])
            #expect(try store.events(from: 3, limit: 1).map(\.sequence) == [3])
            #expect(try store.events(inSession: "a").map(\.sessionVersion) == [1, 2, 3])
            #expect(try store.events(inSession: "a", from: 2).map(\.sessionVersion) == [2, 3])
            #expect(try store.events(inSession: "a", direction: .backward).map(\.sessionVersion) == [3, 2, 1])
            #expect(try store.events(inSession: "a", from: 2, direction: .backward, limit: 5).map(\.sessionVersion) == [2, 1])
            #expect(try store.events(inSession: "b", direction: .backward).map(\.sequence) == [2])
            #expect(try store.events(inSession: "zzz").isEmpty)
            #expect(try store.events(inSession: "a", direction: .backward, limit: 1).first?.event == message("a2"))
            #expect(try store.version(ofSession: "a") == 3)
            #expect(try store.version(ofSession: "missing") == nil)
            #expect(try store.event(at: 2)?.sessionID == "b")
            #expect(try store.event(at: 99) == nil)
            let counts = try store.counts()
            #expect(counts.events == 4 && counts.sessions == 2)
            let records = try store.events()
            #expect(try store.head() == ChainHead(sequence: 4, hash: records[3].hash))
            #expect(zip(records.dropFirst(), records).allSatisfy { $0.previousHash == $1.hash })
            #expect(zip(records.dropFirst(), records).allSatisfy { $0.timestamp >= $1.timestamp })
        }
    }

    @Test("the writer decides a missing session: refuse writes nothing, create puts the creation first, exactly once under a race")
    func whenMissing() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory, configuration: .with(durability: .nosync))
            defer { store.close() }
            let refused = await #expect(throws: EventStoreError.self) {
                try await store.append(AppendRequest(sessionID: "a", whenMissing: .refuse, events: [message("a1")]))
            }
            #expect(refused?.code == .sessionNotFound && refused?.sessionID == "a")
            #expect(try store.events().isEmpty, "nothing written")

            let creation: [Event] = [.sessionCreated(SessionCreated(userID: "u"))]
            // Sixteen racing appends that each create the session if missing: one creation, sixteen messages.
            let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        try await store.append(AppendRequest(sessionID: "a", whenMissing: .create(with: creation), events: [message("m\(index)")]))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0.positions.count == 2 }.count == 1, "one append created the session")
            let types = try store.events(inSession: "a").map(\.event.typeName)
            #expect(types == ["SessionCreated"] + Array(repeating: "MessageAdded", count: 16))

            // A creating append does not check expectedVersion on a missing session...
            _ = try await store.append(AppendRequest(sessionID: "b", expectedVersion: 99, whenMissing: .create(with: creation), events: [message("b1")]))
            // ...and once the session exists, refuse and create append like any append, checking the version.
            let existing = try await store.append(AppendRequest(sessionID: "a", expectedVersion: 17, whenMissing: .refuse, events: [message("late")]))
            #expect(existing.positions.map(\.sessionVersion) == [18])
            await #expect(throws: EventStoreError.self) {
                try await store.append(AppendRequest(sessionID: "a", expectedVersion: 1, whenMissing: .create(with: creation), events: [message("stale")]))
            }
        }
    }

    @Test("a session prefix does not leak into a longer session id")
    func sessionPrefixesAreSeparate() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory, configuration: .with(durability: .nosync))
            defer { store.close() }
            _ = try await store.append(AppendRequest(sessionID: "ab", events: [message("1")]))
            _ = try await store.append(AppendRequest(sessionID: "a", events: [message("2")]))
            _ = try await store.append(AppendRequest(sessionID: "a-", events: [message("3")]))
            #expect(try store.events(inSession: "a").map(\.sequence) == [2])
            #expect(try store.events(inSession: "a", direction: .backward).map(\.sequence) == [2])
            #expect(try store.events(inSession: "ab", direction: .backward).map(\.sequence) == [1])
        }
    }

    @Test("an expected-version mismatch is a conflict and writes nothing")
    func versionConflict() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            defer { store.close() }
            _ = try await store.append(AppendRequest(sessionID: "s", expectedVersion: 0, events: [.sessionCreated(SessionCreated())]))
            let error = await #expect(throws: EventStoreError.self) {
                try await store.append(
                    AppendRequest(streams: [
                        .init(sessionID: "other", expectedVersion: 0, events: [message("x")]),
                        .init(sessionID: "s", expectedVersion: 0, events: [.sessionCreated(SessionCreated())]),
                    ])
                )
            }
            #expect(error?.code == .versionConflict)
            #expect(error?.sessionID == "s")
            #expect(error?.expectedVersion == 0)
            #expect(error?.actualVersion == 1)
            #expect(try store.counts().events == 1, "the other stream of the refused request was not written")
            #expect(try store.version(ofSession: "other") == nil)
        }
    }

    @Test("a retried message id returns the original result and stores nothing")
    func idempotentRetry() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            defer { store.close() }
            let first = try await store.append(AppendRequest(sessionID: "s", expectedVersion: 0, events: [message("m-1")]))
            _ = try await store.append(AppendRequest(sessionID: "s", events: [message("m-2")]))
            // The retry still carries the expected version of its first attempt: idempotency wins.
            let retry = try await store.append(AppendRequest(sessionID: "s", expectedVersion: 0, events: [message("m-1")]))
            #expect(retry.isDuplicate)
            #expect(retry.positions == first.positions)
            #expect(try store.counts().events == 2)
            // The same id in another session is another message.
            let elsewhere = try await store.append(AppendRequest(sessionID: "t", events: [message("m-1")]))
            #expect(!elsewhere.isDuplicate)
        }
    }

    @Test("requests that break the log's rules are refused before they are queued")
    func invalidAppends() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory, configuration: .with(durability: .nosync))
            defer { store.close() }
            let invalid: [AppendRequest] = [
                AppendRequest(streams: []),
                AppendRequest(sessionID: "", events: [message("m")]),
                AppendRequest(sessionID: String(repeating: "x", count: 256), events: [message("m")]),
                AppendRequest(sessionID: "nul\u{0}", events: [message("m")]),
                AppendRequest(sessionID: "tag\u{1}", events: [message("m")]),
                AppendRequest(sessionID: "s", events: [message("tab\u{9}id")]),
                AppendRequest(sessionID: "s", events: []),
                AppendRequest(sessionID: "s", events: [message("dup"), message("dup")]),
                AppendRequest(sessionID: "s", events: [message("")]),
                AppendRequest(streams: [.init(sessionID: "s", events: [message("1")]), .init(sessionID: "s", events: [message("2")])]),
                AppendRequest(sessionID: "s", events: [.unrecognized(type: "has space", payload: [])]),
            ]
            for request in invalid {
                let error = await #expect(throws: EventStoreError.self) { try await store.append(request) }
                #expect(error?.code == .invalidAppend)
            }
            #expect(try store.counts().events == 0)
        }
    }

    @Test("a conflicting append in a group commit does not fail the others")
    func conflictIsIsolatedInBatch() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            defer { store.close() }
            _ = try await store.append(AppendRequest(sessionID: "s", events: [message("seed")]))
            let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        // Every third append expects a version the session is never at.
                        let expected: UInt64? = index % 3 == 0 ? 1_000_000 : nil
                        let request = AppendRequest(sessionID: "s", expectedVersion: expected, events: [message("m\(index)")])
                        do {
                            _ = try await store.append(request)
                            return (index, true)
                        } catch {
                            return (index, false)
                        }
                    }
                }
                return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            for (index, succeeded) in outcomes { #expect(succeeded == (index % 3 != 0), "append \(index)") }
            let stored = Set(try store.events(inSession: "s").compactMap { record -> String? in
                if case .messageAdded(let added) = record.event { return added.messageID }
                return nil
            })
            #expect(stored == Set(["seed"] + (0..<200).filter { $0 % 3 != 0 }.map { "m\($0)" }))
        }
    }

    @Test("32 concurrent writers × 500 appends: each stored once, versions and sequence gap-free")
    func concurrentAppendsAreContiguous() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            defer { store.close() }
            let writers = 32
            let appendsPerWriter = 500
            let acknowledged = try await withThrowingTaskGroup(of: [EventPosition].self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        var positions: [EventPosition] = []
                        for index in 0..<appendsPerWriter {
                            let session = "session-\((writer + index) % 8)"
                            let result = try await store.append(AppendRequest(sessionID: session, events: [message("w\(writer)-\(index)")]))
                            positions += result.positions
                        }
                        return positions
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            let total = writers * appendsPerWriter
            #expect(acknowledged.count == total)
            let records = try store.events()
            #expect(records.map(\.sequence) == Array(1...UInt64(total)))
            #expect(Set(acknowledged.map(\.sequence)).count == total)
            let bySequence = Dictionary(uniqueKeysWithValues: records.map { ($0.sequence, $0) })
            for position in acknowledged {
                let record = try #require(bySequence[position.sequence])
                #expect(record.sessionID == position.sessionID && record.sessionVersion == position.sessionVersion)
            }
            let messageIDs = records.compactMap { record -> String? in
                if case .messageAdded(let added) = record.event { return added.messageID }
                return nil
            }
            #expect(Set(messageIDs).count == total)
            for (session, sessionRecords) in Dictionary(grouping: records, by: \.sessionID) {
                #expect(sessionRecords.map(\.sessionVersion) == Array(1...UInt64(sessionRecords.count)), "\(session)")
            }
            #expect(try store.verify().isIntact)
        }
    }

    @Test("a log opened with a 64 KiB map takes 100 MB of appends, nothing lost")
    func mapGrowsOnDemand() async throws {
        try await withTemporaryDirectory { directory in
            var configuration = EventStore.Configuration()
            configuration.initialMapSize = 64 << 10
            let store = try EventStore(directory: directory, configuration: configuration)
            defer { store.close() }
            let chunk = String(repeating: "0123456789abcdef", count: 6_400)  // 100 KiB
            let appends = 1_000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in stride(from: worker, to: appends, by: 8) {
                            _ = try await store.append(AppendRequest(sessionID: "big", events: [message("m\(index)", chunk)]))
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(store.environment.mapSize >= 100_000_000)
            #expect(try store.counts().events == appends)
            let records = try store.events(inSession: "big")
            #expect(records.count == appends)
            #expect(records.allSatisfy { $0.event == message(messageID(of: $0), chunk) })
            #expect(try store.verify().isIntact)
        }
    }

    @Test("a log survives close and reopen, and keeps its chain")
    func reopen() async throws {
        try await withTemporaryDirectory { directory in
            var store = try EventStore(directory: directory)
            _ = try await store.append(AppendRequest(sessionID: "s", events: [message("1"), message("2")]))
            let head = try store.head()
            store.close()
            store = try EventStore(directory: directory)
            defer { store.close() }
            #expect(try store.head() == head)
            let next = try await store.append(AppendRequest(sessionID: "s", expectedVersion: 2, events: [message("3")]))
            #expect(next.positions[0].sequence == 3)
            #expect(try store.events(from: 3)[0].previousHash == head.hash)
            await #expect(throws: EventStoreError.self) {
                store.close()
                _ = try await store.append(AppendRequest(sessionID: "s", events: [message("4")]))
            }
        }
    }

    @Test("read-only opening reads while a writer appends, and refuses appends")
    func readOnly() async throws {
        try await withTemporaryDirectory { directory in
            let writer = try EventStore(directory: directory)
            defer { writer.close() }
            _ = try await writer.append(AppendRequest(sessionID: "s", events: [message("1")]))
            var configuration = EventStore.Configuration()
            configuration.readOnly = true
            let reader = try EventStore(directory: directory, configuration: configuration)
            defer { reader.close() }
            _ = try await writer.append(AppendRequest(sessionID: "s", events: [message("2")]))
            #expect(try reader.events().count == 2)
            let error = await #expect(throws: EventStoreError.self) {
                try await reader.append(AppendRequest(sessionID: "s", events: [message("3")]))
            }
            #expect(error?.code == .closed)
        }
    }

    @Test("opening something that is not a convlog log says so")
    func notAnEventLog() async throws {
        try await withTemporaryDirectory { directory in
            var readOnly = EventStore.Configuration()
            readOnly.readOnly = true
            let missing = #expect(throws: EventStoreError.self) { try EventStore(directory: directory, configuration: readOnly) }
            #expect(missing?.code == .notAnEventLog)

            // An LMDB environment of someone else's.
            let foreign = directory.appendingPathComponent("foreign")
            try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
            let environment = try LMDBEnvironment(directory: foreign, configuration: .init())
            _ = try environment.openDatabase(named: "other", create: true)
            let notOurs = #expect(throws: EventStoreError.self) { try EventStore(directory: foreign, configuration: readOnly) }
            #expect(notOurs?.code == .notAnEventLog)

            // A log stamped by a newer convlog.
            let newer = directory.appendingPathComponent("newer")
            let store = try EventStore(directory: newer)
            try store.environment.write { txn in
                try txn.put(store.schema.meta, key: LogSchema.formatVersionKey, value: [EventCodec.formatVersion + 1])
            }
            store.close()
            let tooNew = #expect(throws: EventStoreError.self) { try EventStore(directory: newer) }
            #expect(tooNew?.code == .unsupportedFormat)
        }
    }
}

/// The message id of a `MessageAdded` record ("" for other events).
func messageID(of record: RecordedEvent) -> String {
    if case .messageAdded(let added) = record.event { return added.messageID }
    return ""
}
