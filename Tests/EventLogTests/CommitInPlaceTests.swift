import Foundation
import Testing

@testable import EventLog

/// Appends through ``EventStore/append(_:completion:)`` on an idle log commit on the caller's thread.
@Suite("Commit in place")
struct CommitInPlaceTests {
    /// What the completions of appends said, and on which thread they ran.
    private final class Answers: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [Int: Result<AppendResult, any Error>] = [:]
        private var onCaller: Set<Int> = []
        private let done = DispatchSemaphore(value: 0)

        /// A completion for append `index`, issued from the thread `caller`.
        func completion(_ index: Int, caller: pthread_t) -> EventStore.AppendCompletion {
            { result in
                let here = pthread_equal(pthread_self(), caller) != 0
                self.lock.withLock {
                    self.results[index] = result
                    if here { self.onCaller.insert(index) }
                }
                self.done.signal()
            }
        }

        func wait(for count: Int) {
            for _ in 0..<count { done.wait() }
        }

        func result(_ index: Int) -> Result<AppendResult, any Error>? { lock.withLock { results[index] } }
        func answeredOnCaller(_ index: Int) -> Bool { lock.withLock { onCaller.contains(index) } }
    }

    @Test("a lone append is committed on the caller's thread and answered before append returns")
    func loneAppendCommitsInPlace() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory, configuration: .with(durability: .nosync))
            defer { store.close() }
            let answers = Answers()
            store.append(AppendRequest(sessionID: "s", events: [message("m1")]), completion: answers.completion(1, caller: pthread_self()))
            let result = try #require(answers.result(1), "answered before append returned")
            #expect(try result.get().positions.map(\.sequence) == [1])
            #expect(answers.answeredOnCaller(1))
            #expect(try store.events(inSession: "s").count == 1)
        }
    }

    @Test("appends from one thread keep their order while another thread's appends take turns in place and in the writer's batches")
    func orderIsKeptAcrossPlaces() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            defer { store.close() }
            let count = 300
            let answers = Answers()
            let other = Answers()
            let competitor = Thread {
                for index in 0..<count {
                    store.append(AppendRequest(sessionID: "other-\(index % 7)", events: [message("o\(index)")]), completion: other.completion(index, caller: pthread_self()))
                }
            }
            competitor.start()
            let caller = pthread_self()
            for index in 0..<count {
                store.append(AppendRequest(sessionID: "ordered", events: [message("m\(index)")]), completion: answers.completion(index, caller: caller))
            }
            answers.wait(for: count)
            other.wait(for: count)
            let stored = try store.events(inSession: "ordered").map { record -> String in
                guard case .messageAdded(let added) = record.event else { return "?" }
                return added.messageID
            }
            #expect(stored == (0..<count).map { "m\($0)" })
            #expect(try store.events().map(\.sequence) == Array(1...UInt64(2 * count)))
            #expect(try store.verify().isIntact)
        }
    }

    @Test("the projections apply appends committed in place within their interval")
    func projectionsFollowCommitsInPlace() async throws {
        try await withTemporaryDirectory { directory in
            var configuration = EventStore.Configuration.with(durability: .nosync)
            configuration.materializeInterval = .milliseconds(20)
            let store = try EventStore(directory: directory, configuration: configuration)
            defer { store.close() }
            // Let the writer go to sleep with nothing to apply (no deadline) first.
            try await Task.sleep(for: .milliseconds(50))
            let answers = Answers()
            store.append(AppendRequest(sessionID: "s", events: [message("m1")]), completion: answers.completion(1, caller: pthread_self()))
            #expect(answers.answeredOnCaller(1))
            let deadline = ContinuousClock.now + .seconds(5)
            while store.tail.load.count > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(store.tail.load.count == 0, "the writer applied the projections")
        }
    }
}
