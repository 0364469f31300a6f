import Foundation
import Testing

@testable import EventLog

@Suite("Group commit queue")
struct GroupCommitQueueTests {
    private static let barrier = QueuedWork.barrier { _ in }

    private static func count(_ next: GroupCommitQueue.Next) -> Int {
        if case .work(let batch) = next { batch.count } else { 0 }
    }

    @Test("a gathering batch waits for the appends it expects, which arrive after it started waiting")
    func gatheringWaitsForTheExpectedCount() throws {
        let queue = GroupCommitQueue()
        try queue.enqueue(Self.barrier)
        let late = Thread {
            Thread.sleep(forTimeInterval: 0.05)
            try? queue.enqueue(Self.barrier)
            try? queue.enqueue(Self.barrier)
        }
        late.start()
        let next = queue.nextBatch(maxCount: 100, maxBytes: 1 << 20, until: nil, gathering: .init(count: 3, patience: 30))
        #expect(Self.count(next) == 3)
    }

    @Test("a gathering batch goes with what came once its patience is spent, and never takes more than maxCount")
    func gatheringIsBounded() throws {
        let queue = GroupCommitQueue()
        try queue.enqueue(Self.barrier)
        let alone = queue.nextBatch(maxCount: 100, maxBytes: 1 << 20, until: nil, gathering: .init(count: 5, patience: 0.02))
        #expect(Self.count(alone) == 1)
        queue.release(committed: 0)
        for _ in 0..<4 { try queue.enqueue(Self.barrier) }
        let capped = queue.nextBatch(maxCount: 2, maxBytes: 1 << 20, until: nil, gathering: .init(count: 10, patience: 30))
        #expect(Self.count(capped) == 2)
        #expect(queue.waitingCount == 2)
    }

    @Test("an append may claim the write side only while the log is idle and the last commit took one append")
    func claimForCommitInPlace() throws {
        let queue = GroupCommitQueue()
        #expect(queue.claimForCommitInPlace())
        #expect(!queue.claimForCommitInPlace(), "claimed already")
        queue.release(committed: 1)
        try queue.enqueue(Self.barrier)
        #expect(!queue.claimForCommitInPlace(), "work waits")
        _ = queue.nextBatch(maxCount: 100, maxBytes: 1 << 20, until: nil)
        #expect(!queue.claimForCommitInPlace(), "the writer holds the claim")
        queue.release(committed: 2)
        #expect(!queue.claimForCommitInPlace(), "the last commit took two appends: load")
        queue.release(committed: 1)
        #expect(queue.claimForCommitInPlace())
        queue.release(committed: 1)
        queue.close()
        #expect(!queue.claimForCommitInPlace(), "closed")
    }

    @Test("the writer waits for a claim to be released, then sees its deadline passed or the work queued meanwhile")
    func writerWaitsForTheClaim() throws {
        let queue = GroupCommitQueue()
        #expect(queue.claimForCommitInPlace())
        let releaser = Thread {
            Thread.sleep(forTimeInterval: 0.05)
            queue.release(committed: 1)
        }
        releaser.start()
        // The deadline passes while the claim is held: the release wakes the writer, which claims.
        let idle = queue.nextBatch(maxCount: 100, maxBytes: 1 << 20, until: Date.now.addingTimeInterval(0.01))
        guard case .idle = idle else { Issue.record("expected .idle, got \(idle)"); return }
        #expect(!queue.claimForCommitInPlace(), "the writer holds the claim")
        queue.release()
        #expect(queue.claimForCommitInPlace())
        let rescheduler = Thread {
            Thread.sleep(forTimeInterval: 0.05)
            queue.release(committed: 1, rescheduleWriter: true)
        }
        rescheduler.start()
        let next = queue.nextBatch(maxCount: 100, maxBytes: 1 << 20, until: nil)
        guard case .rescheduled = next else { Issue.record("expected .rescheduled, got \(next)"); return }
        #expect(queue.claimForCommitInPlace(), ".rescheduled claims nothing")
    }
}
