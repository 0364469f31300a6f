import Foundation

/// An append waiting for the writer thread, and what to call once it is durable (or refused).
struct PendingAppend: Sendable {
    let request: PreparedAppend
    let completion: EventStore.AppendCompletion
}

/// What waits for the writer thread: an append, or a read barrier (a store over a shared log
/// brings its mirror up to the shared head, then calls it).
enum QueuedWork: Sendable {
    case append(PendingAppend)
    case barrier(@Sendable (Result<Void, any Error>) -> Void)

    /// The bytes it adds to a batch.
    var byteCount: Int {
        switch self {
        case .append(let append): append.request.byteCount
        case .barrier: 0
        }
    }

    /// Answers it with a failure.
    func fail(_ error: any Error) {
        switch self {
        case .append(let append): append.completion(.failure(error))
        case .barrier(let completion): completion(.failure(error))
        }
    }
}

/// The hand-off between appenders and the store's writer thread, and the claim on the log's
/// write side.
///
/// Appenders enqueue; the writer takes everything waiting (up to a count and a byte budget) as
/// one batch, so many appends share one commit and one fsync. Whoever writes holds the claim:
/// the writer from ``nextBatch(maxCount:maxBytes:until:gathering:)`` to ``release(committed:rescheduleWriter:)``,
/// or an appender that found the log idle and commits its own append on its own thread
/// (``claimForCommitInPlace()``), which saves a lone append two thread hand-offs.
final class GroupCommitQueue: @unchecked Sendable {
    // All state is guarded by `condition`.
    private let condition = NSCondition()
    private var waiting: [QueuedWork] = []
    private var isClosed = false
    /// Whether someone holds the claim (commits, or applies projections).
    private var isClaimed = false
    /// Appends the last commit took: a commit in place is allowed only while commits take one
    /// append each (a lone client), since a commit of one append under load would make the
    /// batch waiting behind it wait a whole commit more.
    private var lastCommitAppends = 0
    /// Set when the writer should compute its deadline again (a commit in place filled the tail).
    private var isRescheduled = false
    /// The deadline the writer waits for in ``nextBatch(maxCount:maxBytes:until:gathering:)``,
    /// so that a release after it passed wakes the writer.
    private var writerDeadline: Date?

    /// Queues work and wakes the writer.
    /// - Throws: ``EventStoreError/Code/closed`` once ``close()`` was called.
    func enqueue(_ work: QueuedWork) throws(EventStoreError) {
        condition.lock()
        defer { condition.unlock() }
        guard !isClosed else { throw EventStoreError(.closed, "the event store is closed") }
        waiting.append(work)
        condition.signal()
    }

    /// What the writer gets from ``nextBatch(maxCount:maxBytes:until:)``.
    enum Next {
        /// The oldest waiting work: at least one.
        case work([QueuedWork])
        /// Nothing came before the deadline.
        case idle
        /// The queue is closed and empty.
        case closed
        /// Someone else committed: compute the deadline again (nothing claimed).
        case rescheduled
    }

    /// Appends expected soon, worth a short wait before a commit (see ``nextBatch(maxCount:maxBytes:until:gathering:)``).
    struct Gathering {
        /// How many to wait for.
        var count: Int
        /// How long to wait for them, at most, once the first is there (seconds).
        var patience: TimeInterval
    }

    /// How much work waits now.
    var waitingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting.count
    }

    /// Blocks until work waits (or `deadline`, when given, passes) and nobody else holds the
    /// claim, then claims and takes the oldest: at least one, and more while they fit in
    /// `maxCount` and `maxBytes`. With `gathering`, once work waits, it waits up to
    /// `gathering.patience` more for `gathering.count` in all. After `.work` and `.idle` the
    /// caller holds the claim until it calls ``release(committed:rescheduleWriter:)``.
    func nextBatch(maxCount: Int, maxBytes: Int, until deadline: Date?, gathering: Gathering? = nil) -> Next {
        condition.lock()
        writerDeadline = deadline
        defer {
            writerDeadline = nil
            condition.unlock()
        }
        while true {
            if !isClaimed {
                if !waiting.isEmpty { break }
                if isClosed { return .closed }
                if isRescheduled {
                    isRescheduled = false
                    return .rescheduled
                }
                if let deadline, Date.now >= deadline {
                    isClaimed = true
                    return .idle
                }
            }
            // While someone else holds the claim, its release wakes this wait.
            if let deadline, !isClaimed { _ = condition.wait(until: deadline) } else { condition.wait() }
        }
        if let gathering, waiting.count < min(gathering.count, maxCount) {
            let until = Date.now.addingTimeInterval(gathering.patience)
            while waiting.count < min(gathering.count, maxCount), !isClosed, condition.wait(until: until) {}
        }
        isClaimed = true
        return .work(removeBatch(maxCount: maxCount, maxBytes: maxBytes))
    }

    /// Claims the write side for an append to commit on its caller's thread: only while nothing
    /// waits, nobody holds the claim, the queue is open and the last commit took one append.
    /// - Returns: whether the caller holds the claim (it must then call ``release(committed:rescheduleWriter:)``).
    func claimForCommitInPlace() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !isClaimed, !isClosed, waiting.isEmpty, lastCommitAppends <= 1 else { return false }
        isClaimed = true
        return true
    }

    /// Gives the claim back.
    /// - Parameters:
    ///   - committed: the appends the holder committed (nil: it committed none).
    ///   - rescheduleWriter: wake the writer to compute its deadline again.
    func release(committed: Int? = nil, rescheduleWriter: Bool = false) {
        condition.lock()
        defer { condition.unlock() }
        isClaimed = false
        if let committed { lastCommitAppends = committed }
        if rescheduleWriter { isRescheduled = true }
        let writerIsDue = writerDeadline.map { Date.now >= $0 } ?? false
        if rescheduleWriter || writerIsDue || !waiting.isEmpty || isClosed { condition.signal() }
    }

    /// Removes and returns the oldest waiting work that fits; at least one. Call with the lock held.
    private func removeBatch(maxCount: Int, maxBytes: Int) -> [QueuedWork] {
        var count = 1
        var bytes = waiting[0].byteCount
        while count < min(maxCount, waiting.count), bytes + waiting[count].byteCount <= maxBytes {
            bytes += waiting[count].byteCount
            count += 1
        }
        let batch = Array(waiting.prefix(count))
        waiting.removeFirst(count)
        return batch
    }

    /// Refuses new appends; those already queued are still written.
    func close() {
        condition.lock()
        isClosed = true
        condition.broadcast()
        condition.unlock()
    }
}
