import Foundation

/// A writer-preferring readers–writer lock that keeps map resizes away from open transactions.
///
/// `mdb_env_set_mapsize` may only be called while no transaction of this process is active, and
/// LMDB does not check it. Every transaction holds this lock shared; a resize holds it exclusively.
/// A waiting resize blocks new transactions, so a steady stream of readers cannot starve it.
final class ResizeLock: @unchecked Sendable {
    // All state is guarded by `condition`.
    private let condition = NSCondition()
    private var activeShared = 0
    private var exclusiveWaiting = 0
    private var exclusiveHeld = false

    /// Runs `body` while no exclusive holder is active or waiting.
    func withShared<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        while exclusiveHeld || exclusiveWaiting > 0 { condition.wait() }
        activeShared += 1
        condition.unlock()
        defer {
            condition.lock()
            activeShared -= 1
            if activeShared == 0 { condition.broadcast() }
            condition.unlock()
        }
        return try body()
    }

    /// Runs `body` alone: after every shared holder has left, and keeping new ones out.
    func withExclusive<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        exclusiveWaiting += 1
        while exclusiveHeld || activeShared > 0 { condition.wait() }
        exclusiveWaiting -= 1
        exclusiveHeld = true
        condition.unlock()
        defer {
            condition.lock()
            exclusiveHeld = false
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }
}
