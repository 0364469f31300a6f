import Synchronization

/// Which records a subscriber wants.
public struct EventFilter: Sendable, Hashable {
    /// Only this session's records; nil: every session's.
    public var sessionID: String?
    /// Only records of these types (``Event/typeName``); nil: every type.
    public var types: Set<String>?

    public init(sessionID: String? = nil, types: Set<String>? = nil) {
        self.sessionID = sessionID
        self.types = types
    }

    /// Whether `record` passes.
    public func matches(_ record: RecordedEvent) -> Bool {
        if let sessionID, record.sessionID != sessionID { return false }
        if let types, !types.contains(record.event.typeName) { return false }
        return true
    }
}

/// A reader that follows the log: its records from a sequence on, then each record as its commit
/// becomes durable, in log order, each once, with no gap between the two.
///
/// The subscription registers for new commits *before* it reads the log, keeps what commits in a
/// bounded buffer while it reads, and goes live once a read reaches the end of the log: every
/// record committed after that read's snapshot is in the buffer, and the records the read also
/// saw are skipped by sequence. While it catches up, a full buffer is emptied and the reading
/// simply goes on (the log holds everything). Once live, the buffer only fills when the consumer
/// does not take what it is given; when it overflows, the subscription ends with
/// ``End/tooSlow(resumeFrom:)`` and the consumer may subscribe again from that sequence, losing
/// nothing. The writer only ever appends to the buffer: a subscriber never slows a commit.
///
/// A consumer calls ``poll(limit:)`` until it answers ``Poll/State/idle``, then waits for the
/// `wake` given to ``start(wake:)`` before polling again.
public final class LogSubscription: Sendable {
    /// Why a subscription ended.
    public enum End: Sendable, Hashable {
        /// More than the buffer's bound waited for the consumer; nothing from `resumeFrom` on was delivered.
        case tooSlow(resumeFrom: UInt64)
        /// Reading the log failed (the message says why); nothing from `resumeFrom` on was delivered.
        case failed(String, resumeFrom: UInt64)
        /// The store closed.
        case closed(resumeFrom: UInt64)
    }

    /// What one ``poll(limit:)`` delivers.
    public struct Poll: Sendable {
        /// What to do next.
        public enum State: Sendable, Hashable {
            /// Poll again now.
            case more
            /// Nothing waits: poll again after `wake` is called.
            case idle
            /// The subscription ended: no more polls.
            case ended(End)
        }

        /// The next matching records, in log order.
        public var events: [RecordedEvent]
        /// Set once, when the subscription has delivered the log up to this sequence (its end
        /// when the reading caught up) and goes on with records as they commit.
        public var caughtUpThrough: UInt64?
        public var state: State
    }

    /// The most records a subscription holds for its consumer before it ends as too slow, and
    /// the most bytes (records as stored).
    public struct Bound: Sendable, Hashable {
        public var events: Int
        public var bytes: Int

        public init(events: Int = 10_000, bytes: Int = 64 << 20) {
            self.events = events
            self.bytes = bytes
        }
    }

    private enum Phase {
        case catchingUp
        case live
        case ended(End)
        case finished
    }

    private struct State {
        var phase = Phase.catchingUp
        /// Records before this one were delivered or skipped.
        var next: UInt64
        /// For a one-session filter: the session version to read from next while catching up.
        var nextVersion: UInt64 = 1
        /// Matching records committed since the subscription registered (or since it last emptied
        /// the buffer), in log order, with their stored sizes.
        var buffer: [(record: RecordedEvent, size: Int)] = []
        var bufferedBytes = 0
        /// The buffer dropped records while catching up: read the log again before going live.
        var overflowed = false
        /// The consumer saw nothing to do and waits for `wake`.
        var consumerWaiting = false
        var wake: (@Sendable () -> Void)?
    }

    /// Records read from the log per poll while catching up (scanned, matching or not): a poll
    /// runs on a connection's thread and must stay short.
    static let scanChunk = 512

    private let store: EventStore
    /// What this subscription delivers.
    public let filter: EventFilter
    /// The first sequence it may deliver.
    public let startSequence: UInt64
    private let bound: Bound
    private let state: Mutex<State>

    /// A subscription to `store`'s records from sequence `start` on that pass `filter`; it
    /// delivers nothing before ``start(wake:)``.
    init(store: EventStore, from start: UInt64, filter: EventFilter, bound: Bound) {
        self.store = store
        self.filter = filter
        self.bound = bound
        startSequence = max(1, start)
        state = Mutex(State(next: startSequence))
    }

    /// Registers for new commits and lets polling begin; `wake` is called (from any thread,
    /// quickly, never while the subscription is locked) when a waiting consumer has more to take.
    public func start(wake: @escaping @Sendable () -> Void) {
        state.withLock { $0.wake = wake }
        store.feed.add(self)
    }

    /// Stops the subscription: it leaves the feed and its buffer is freed. Safe to call more than once.
    public func cancel() {
        store.feed.remove(self)
        state.withLock { state in
            state.phase = .finished
            state.buffer = []
            state.wake = nil
        }
    }

    /// The next records for the consumer, up to `limit`.
    public func poll(limit: Int) -> Poll {
        let phase = state.withLock { $0.phase }
        switch phase {
        case .catchingUp:
            return catchUp(limit: limit)
        case .live:
            return state.withLock { state in
                let taken = state.buffer.prefix(limit)
                let events = taken.map(\.record)
                state.bufferedBytes -= taken.reduce(0) { $0 + $1.size }
                state.buffer.removeFirst(taken.count)
                if let last = events.last { state.next = last.sequence + 1 }
                let idle = state.buffer.isEmpty
                state.consumerWaiting = idle
                return Poll(events: events, caughtUpThrough: nil, state: idle ? .idle : .more)
            }
        case .ended(let end):
            state.withLock { $0.phase = .finished }
            store.feed.remove(self)
            return Poll(events: [], caughtUpThrough: nil, state: .ended(end))
        case .finished:
            return Poll(events: [], caughtUpThrough: nil, state: .idle)
        }
    }

    /// Called by the writer after each commit, with its records and their stored sizes.
    func receive(_ records: [RecordedEvent], sizes: [Int]) {
        var endedTooSlow = false
        let wake = state.withLock { state -> (@Sendable () -> Void)? in
            var added = false
            // Records before `next` were read from the log already (or come before the start).
            for (record, size) in zip(records, sizes) where record.sequence >= state.next && filter.matches(record) {
                switch state.phase {
                case .catchingUp where state.overflowed:
                    continue
                case .catchingUp, .live:
                    state.buffer.append((record, size))
                    state.bufferedBytes += size
                    added = true
                case .ended, .finished:
                    return nil
                }
                guard state.buffer.count > bound.events || state.bufferedBytes > bound.bytes else { continue }
                state.buffer = []
                state.bufferedBytes = 0
                if case .live = state.phase {
                    // Everything before `next` was delivered; nothing from it on was.
                    state.phase = .ended(.tooSlow(resumeFrom: state.next))
                    endedTooSlow = true
                    return state.wake
                }
                state.overflowed = true
            }
            guard added, state.consumerWaiting else { return nil }
            state.consumerWaiting = false
            return state.wake
        }
        if endedTooSlow { store.feed.noteEndedTooSlow() }
        wake?()
    }

    /// The store is closing: the subscription ends.
    func storeClosed() {
        let wake = state.withLock { state -> (@Sendable () -> Void)? in
            switch state.phase {
            case .catchingUp, .live:
                state.phase = .ended(.closed(resumeFrom: state.next))
                state.buffer = []
                return state.wake
            case .ended, .finished:
                return nil
            }
        }
        wake?()
    }

    // MARK: Catching up

    /// Reads the next chunk of the log; goes live when the read reached the log's end and the
    /// buffer kept every commit since the read's snapshot.
    private func catchUp(limit: Int) -> Poll {
        let (next, nextVersion) = state.withLock { ($0.next, $0.nextVersion) }
        let scan = min(max(1, limit), Self.scanChunk)
        let chunk: [RecordedEvent]
        do {
            if let sessionID = filter.sessionID {
                chunk = try store.events(inSession: sessionID, from: nextVersion, limit: scan)
            } else {
                chunk = try store.events(from: next, limit: scan)
            }
        } catch {
            let end = End.failed("reading the log failed: \(error)", resumeFrom: next)
            state.withLock { $0.phase = .finished }
            store.feed.remove(self)
            return Poll(events: [], caughtUpThrough: nil, state: .ended(end))
        }
        let reachedEnd = chunk.count < scan
        // A session's records from version 1 on may precede `next`; the log's start at `next`.
        let events = chunk.filter { $0.sequence >= next && filter.matches($0) }
        return state.withLock { state in
            // Cancelled meanwhile.
            guard case .catchingUp = state.phase else { return Poll(events: [], caughtUpThrough: nil, state: .idle) }
            if let last = chunk.last {
                state.nextVersion = last.sessionVersion + 1
                state.next = max(state.next, last.sequence + 1)
            }
            guard reachedEnd else { return Poll(events: events, caughtUpThrough: nil, state: .more) }
            guard !state.overflowed else {
                // Commits were missed while reading: read on from here, buffering afresh.
                state.overflowed = false
                state.buffer = []
                state.bufferedBytes = 0
                return Poll(events: events, caughtUpThrough: nil, state: .more)
            }
            let caughtUpThrough = state.next - 1
            let next = state.next
            state.buffer.removeAll { $0.record.sequence < next }
            state.bufferedBytes = state.buffer.reduce(0) { $0 + $1.size }
            state.phase = .live
            return Poll(events: events, caughtUpThrough: caughtUpThrough, state: .more)
        }
    }
}

extension EventStore {
    /// A subscription to the records from sequence `start` on that pass `filter`: first those the
    /// log holds, then each as its commit becomes durable (see ``LogSubscription``).
    public func subscribe(from start: UInt64, filter: EventFilter = EventFilter(), bound: LogSubscription.Bound = .init()) -> LogSubscription {
        LogSubscription(store: self, from: start, filter: filter, bound: bound)
    }

    /// The subscriptions open now.
    public var subscriptionCount: Int { feed.count }

    /// The subscriptions ended because their reader fell behind, since the store opened.
    public var subscriptionsEndedTooSlow: Int { feed.endedTooSlow }
}

/// The committed records, handed by the writer to every subscription after each commit.
final class LogFeed: Sendable {
    private let subscriptions = Mutex<[ObjectIdentifier: LogSubscription]>([:])
    private let tooSlow = Atomic<Int>(0)

    func add(_ subscription: LogSubscription) {
        subscriptions.withLock { $0[ObjectIdentifier(subscription)] = subscription }
    }

    func remove(_ subscription: LogSubscription) {
        _ = subscriptions.withLock { $0.removeValue(forKey: ObjectIdentifier(subscription)) }
    }

    /// The subscriptions open now.
    var count: Int { subscriptions.withLock { $0.count } }

    /// Subscriptions ended as too slow so far.
    var endedTooSlow: Int { tooSlow.load(ordering: .relaxed) }

    func noteEndedTooSlow() { tooSlow.add(1, ordering: .relaxed) }

    /// Hands one commit's records to every subscription (on the writer thread, after the commit).
    func publish(_ records: [RecordedEvent], sizes: [Int]) {
        let current = subscriptions.withLock { $0.isEmpty ? [] : Array($0.values) }
        for subscription in current { subscription.receive(records, sizes: sizes) }
    }

    /// Ends every subscription (the store is closing).
    func closeAll() {
        let current = subscriptions.withLock { all in
            defer { all.removeAll() }
            return Array(all.values)
        }
        for subscription in current { subscription.storeClosed() }
    }
}
