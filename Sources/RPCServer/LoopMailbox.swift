import NIOConcurrencyHelpers
import NIOCore

/// Work that other threads hand to one event loop, run by one loop task per burst: the log's
/// writer, answering a batch of appends, wakes each loop once instead of once per answer.
final class LoopMailbox: Sendable {
    private let loop: any EventLoop
    private let waiting = NIOLockedValueBox<[@Sendable () -> Void]>([])

    init(loop: any EventLoop) { self.loop = loop }

    /// Runs `work` on the loop, after the work posted before it.
    func post(_ work: @escaping @Sendable () -> Void) {
        let isFirst = waiting.withLockedValue { waiting in
            waiting.append(work)
            return waiting.count == 1
        }
        if isFirst { loop.execute { self.runWaiting() } }
    }

    private func runWaiting() {
        let works = waiting.withLockedValue { waiting in
            defer { waiting.removeAll(keepingCapacity: true) }
            return waiting
        }
        for work in works { work() }
    }
}
