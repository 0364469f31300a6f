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

/// The hand-off between appenders and the store's writer thread.
///
/// Appenders enqueue; the writer takes everything waiting (up to a count and a byte budget) as
/// one batch, so many appends share one commit and one fsync.
final class GroupCommitQueue: @unchecked Sendable {
    // All state is guarded by `condition`.
    private let condition = NSCondition()
    private var waiting: [QueuedWork] = []
    private var isClosed = false

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

    /// Blocks until work waits (or `deadline`, when given, passes), then takes the oldest:
    /// at least one, and more while they fit in `maxCount` and `maxBytes`. With `gathering`, once
    /// work waits, it waits up to `gathering.patience` more for `gathering.count` in all.
    func nextBatch(maxCount: Int, maxBytes: Int, until deadline: Date?, gathering: Gathering? = nil) -> Next {
        condition.lock()
        defer { condition.unlock() }
        while waiting.isEmpty && !isClosed {
            if let deadline {
                guard condition.wait(until: deadline) else { return waiting.isEmpty ? .idle : .work(removeBatch(maxCount: maxCount, maxBytes: maxBytes)) }
            } else {
                condition.wait()
            }
        }
        guard !waiting.isEmpty else { return .closed }
        if let gathering, waiting.count < min(gathering.count, maxCount) {
            let until = Date.now.addingTimeInterval(gathering.patience)
            while waiting.count < min(gathering.count, maxCount), !isClosed, condition.wait(until: until) {}
        }
        return .work(removeBatch(maxCount: maxCount, maxBytes: maxBytes))
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
