import Foundation
import Synchronization
import Testing

@testable import EventLog

@Suite("Log subscriptions")
struct SubscriptionTests {
    @Test("history then live, while writers append: every record once, in order, with no gap at the handover")
    func historyThenLiveIsGapFree() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            defer { store.close() }
            try await appendMessages(store, count: 1_500, writers: 4)
            let subscription = store.subscribe(from: 1)
            let consumer = SubscriptionConsumer(subscription)
            // Appends go on while the subscriber reads the log and goes live.
            let collecting = Task { try await consumer.collect { $0.last?.sequence == 3_500 } }
            try await appendMessages(store, count: 2_000, writers: 8, prefix: "live")
            let delivered = try await collecting.value
            #expect(try store.head().sequence == 3_500)
            #expect(delivered.events.map(\.sequence) == Array(1...3_500))
            #expect(delivered.caughtUp.count == 1, "caught up once: \(delivered.caughtUp)")
            #expect(delivered.end == nil)
            #expect(store.subscriptionCount == 1)
            subscription.cancel()
            #expect(store.subscriptionCount == 0)
        }
    }

    @Test("a session and type filter deliver the session's matching records, its history included")
    func filtersSelect() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            defer { store.close() }
            _ = try await store.append(AppendRequest(sessionID: "watched", events: [.sessionCreated(SessionCreated(userID: "u"))]))
            _ = try await store.append(AppendRequest(sessionID: "watched", events: [message("w-1")]))
            _ = try await store.append(AppendRequest(sessionID: "other", events: [message("o-1")]))
            let filter = EventFilter(sessionID: "watched", types: [EventType.messageAdded])
            let subscription = store.subscribe(from: 1, filter: filter)
            let consumer = SubscriptionConsumer(subscription)
            _ = try await store.append(AppendRequest(sessionID: "other", events: [message("o-2")]))
            _ = try await store.append(AppendRequest(sessionID: "watched", events: [message("w-2"), message("w-3")]))
            let delivered = try await consumer.collect { $0.count == 3 }
            #expect(delivered.events.map(\.sessionID) == ["watched", "watched", "watched"])
            #expect(delivered.events.map(\.sessionVersion) == [2, 3, 4])
            // A start after some of the session's records skips them.
            let later = SubscriptionConsumer(store.subscribe(from: 5, filter: filter))
            #expect(try await later.collect { $0.count == 2 }.events.map(\.sessionVersion) == [3, 4])
        }
    }

    @Test("a start past the head delivers from there on only")
    func startInTheFuture() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            defer { store.close() }
            try await appendMessages(store, count: 5, writers: 1)
            let subscription = store.subscribe(from: 8)
            subscription.start {}
            let caughtUp = subscription.poll(limit: 64)
            #expect(caughtUp.events.isEmpty && caughtUp.caughtUpThrough == 7)
            #expect(subscription.poll(limit: 64).state == .idle)
            // Live now: sequences 6 and 7 commit before the start and are not delivered.
            try await appendMessages(store, count: 5, writers: 1, prefix: "later")
            let live = subscription.poll(limit: 64)
            #expect(live.events.map(\.sequence) == [8, 9, 10])
        }
    }

    @Test("commits missed while catching up with a small buffer are read from the log: nothing lost, nothing ended")
    func overflowWhileCatchingUp() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            defer { store.close() }
            try await appendMessages(store, count: 1_200, writers: 2)
            let subscription = store.subscribe(from: 1, bound: LogSubscription.Bound(events: 16))
            subscription.start {}
            // The subscriber has not read anything yet: these overflow its buffer while it catches up.
            try await appendMessages(store, count: 100, writers: 2, prefix: "during")
            var sequences: [UInt64] = []
            while true {
                let poll = subscription.poll(limit: 64)
                sequences += poll.events.map(\.sequence)
                guard case .more = poll.state else {
                    #expect(poll.state == .idle)
                    break
                }
            }
            #expect(sequences == Array(1...1_300))
        }
    }

    @Test("a live subscriber that takes nothing is ended as too slow; subscribing again from resumeFrom loses nothing")
    func tooSlowLive() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            defer { store.close() }
            try await appendMessages(store, count: 10, writers: 1)
            let subscription = store.subscribe(from: 1, bound: LogSubscription.Bound(events: 32))
            let woken = WakeCounter()
            subscription.start { woken.increment() }
            var first: [UInt64] = []
            while true {
                let poll = subscription.poll(limit: 4)
                first += poll.events.map(\.sequence)
                if poll.state == .idle { break }
            }
            #expect(first == Array(1...10))
            try await appendMessages(store, count: 100, writers: 1, prefix: "unread")
            #expect(woken.count >= 1)
            let ended = subscription.poll(limit: 64)
            #expect(ended.events.isEmpty)
            #expect(ended.state == .ended(.tooSlow(resumeFrom: 11)))
            #expect(store.subscriptionCount == 0, "an ended subscription leaves the feed")
            #expect(store.subscriptionsEndedTooSlow == 1)
            let again = SubscriptionConsumer(store.subscribe(from: 11))
            #expect(try await again.collect { $0.count == 100 }.events.map(\.sequence) == Array(11...110))
        }
    }

    @Test("closing the store ends its subscriptions")
    func closeEnds() async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory)
            try await appendMessages(store, count: 3, writers: 1)
            let consumer = SubscriptionConsumer(store.subscribe(from: 1))
            _ = try await consumer.collect { $0.count == 3 }
            store.close()
            let delivered = try await consumer.collect { _ in false }
            #expect(delivered.end == .closed(resumeFrom: 4))
        }
    }

    /// Appends `count` messages from `writers` concurrent writers over a few sessions.
    private func appendMessages(_ store: EventStore, count: Int, writers: Int, prefix: String = "m") async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in stride(from: writer, to: count, by: writers) {
                        _ = try await store.append(AppendRequest(sessionID: "s-\(index % 5)", events: [message("\(prefix)-\(index)")]))
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// Counts wakes.
private final class WakeCounter: Sendable {
    private let counted = Mutex(0)

    func increment() { counted.withLock { $0 += 1 } }
    var count: Int { counted.withLock { $0 } }
}

/// Drains a subscription on a thread of its own, as a connection does: polls until idle, then
/// waits for the wake.
private final class SubscriptionConsumer: @unchecked Sendable {
    struct Delivered {
        var events: [RecordedEvent] = []
        var caughtUp: [UInt64] = []
        var end: LogSubscription.End?
    }

    private let subscription: LogSubscription
    private let woken = DispatchSemaphore(value: 0)
    // Touched only by `collect`, one call at a time.
    private var delivered = Delivered()

    init(_ subscription: LogSubscription) {
        self.subscription = subscription
        subscription.start { [woken] in woken.signal() }
    }

    /// Polls until `done` holds for what was delivered and nothing more waits, the subscription
    /// ends, or 10 s pass without a wake.
    func collect(until done: @escaping @Sendable ([RecordedEvent]) -> Bool) async throws -> Delivered {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { [self] in
                // `done` is asked only when the subscription has nothing more now, so what is
                // delivered past the point it waits for (a repeat, say) is seen too.
                while delivered.end == nil {
                    let poll = subscription.poll(limit: 64)
                    delivered.events += poll.events
                    if let through = poll.caughtUpThrough { delivered.caughtUp.append(through) }
                    switch poll.state {
                    case .more:
                        continue
                    case .idle:
                        if done(delivered.events) || woken.wait(timeout: .now() + 10) == .timedOut {
                            continuation.resume(returning: delivered)
                            return
                        }
                    case .ended(let end):
                        delivered.end = end
                    }
                }
                continuation.resume(returning: delivered)
            }
            thread.start()
        }
    }
}
