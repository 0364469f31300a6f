import Foundation

/// An append waiting for the writer thread, and what to call once it is durable (or refused).
struct PendingAppend: Sendable {
    let request: PreparedAppend
    let completion: EventStore.AppendCompletion
}

/// The hand-off between appenders and the store's writer thread.
///
/// Appenders enqueue; the writer takes everything waiting (up to a count and a byte budget) as
/// one batch, so many appends share one commit and one fsync.
final class GroupCommitQueue: @unchecked Sendable {
    // All state is guarded by `condition`.
    private let condition = NSCondition()
    private var waiting: [PendingAppend] = []
    private var isClosed = false

    /// Queues an append and wakes the writer.
    /// - Throws: ``EventStoreError/Code/closed`` once ``close()`` was called.
    func enqueue(_ append: PendingAppend) throws(EventStoreError) {
        condition.lock()
        defer { condition.unlock() }
        guard !isClosed else { throw EventStoreError(.closed, "the event store is closed") }
        waiting.append(append)
        condition.signal()
    }

    /// What the writer gets from ``nextBatch(maxCount:maxBytes:until:)``.
    enum Next {
        /// The oldest waiting appends: at least one.
        case appends([PendingAppend])
        /// Nothing came before the deadline.
        case idle
        /// The queue is closed and empty.
        case closed
    }

    /// Blocks until appends wait (or `deadline`, when given, passes), then takes the oldest ones:
    /// at least one, and more while they fit in `maxCount` and `maxBytes`.
    func nextBatch(maxCount: Int, maxBytes: Int, until deadline: Date?) -> Next {
        condition.lock()
        defer { condition.unlock() }
        while waiting.isEmpty && !isClosed {
            if let deadline {
                guard condition.wait(until: deadline) else { return waiting.isEmpty ? .idle : .appends(removeBatch(maxCount: maxCount, maxBytes: maxBytes)) }
            } else {
                condition.wait()
            }
        }
        guard !waiting.isEmpty else { return .closed }
        return .appends(removeBatch(maxCount: maxCount, maxBytes: maxBytes))
    }

    /// Removes and returns the oldest waiting appends that fit; at least one. Call with the lock held.
    private func removeBatch(maxCount: Int, maxBytes: Int) -> [PendingAppend] {
        var count = 1
        var bytes = waiting[0].request.byteCount
        while count < min(maxCount, waiting.count), bytes + waiting[count].request.byteCount <= maxBytes {
            bytes += waiting[count].request.byteCount
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
