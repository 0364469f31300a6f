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
        for _ in 0..<4 { try queue.enqueue(Self.barrier) }
        let capped = queue.nextBatch(maxCount: 2, maxBytes: 1 << 20, until: nil, gathering: .init(count: 10, patience: 30))
        #expect(Self.count(capped) == 2)
        #expect(queue.waitingCount == 2)
    }
}
