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

    /// Blocks until appends wait, then takes the oldest ones: at least one, and more while they fit
    /// in `maxCount` and `maxBytes`. Returns nil once the queue is closed and empty.
    func nextBatch(maxCount: Int, maxBytes: Int) -> [PendingAppend]? {
        condition.lock()
        defer { condition.unlock() }
        while waiting.isEmpty && !isClosed { condition.wait() }
        guard !waiting.isEmpty else { return nil }
        return removeBatch(maxCount: maxCount, maxBytes: maxBytes)
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
