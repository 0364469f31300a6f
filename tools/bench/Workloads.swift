import ConvLogClient
import EventLog
import Foundation
import Histogram
import JSON
import Synchronization

/// Latencies in nanoseconds, with HdrHistogram.
struct LatencyRecorder {
    private(set) var histogram = Histogram<UInt64>(highestTrackableValue: 120_000_000_000, numberOfSignificantValueDigits: .three)

    mutating func time<T>(_ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        let result = try body()
        let elapsed = ContinuousClock.now - start
        _ = histogram.record(UInt64(elapsed.components.seconds) * 1_000_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000))
        return result
    }

    mutating func merge(_ other: LatencyRecorder) { histogram.add(other.histogram) }

    /// Microseconds at a percentile (0–100).
    func micros(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1_000 }
    var maxMicros: Double { Double(histogram.max) / 1_000 }
}

/// What one workload measured.
struct WorkloadResult {
    var operations: Int
    var seconds: Double
    var latency: LatencyRecorder

    var perSecond: Double { Double(operations) / seconds }
}

/// The convlog workloads that go through the Swift client (the load itself comes from the C driver).
enum ConvlogWorkloads {
    /// `analyzeFollowUp` (rules) on the sessions `TAG-s<k>` the C driver wrote, from one client.
    static func analyses(_ daemon: DaemonHandle, sessions: Int, tag: String, count: Int) throws -> WorkloadResult {
        let client = try daemon.client()
        var recorder = LatencyRecorder()
        let queries: [JSONValue] = ["What about in the US?", "Who are those artists?", "How many albums did AC/DC release in 1980?"]
        let start = ContinuousClock.now
        for index in 0..<count {
            let params: JSONValue = ["sessionId": .string("\(tag)-s\(index % sessions)"), "query": queries[index % queries.count]]
            _ = try recorder.time { try client.callBlocking("analyzeFollowUp", params) }
        }
        return WorkloadResult(operations: count, seconds: seconds(since: start), latency: recorder)
    }
}

/// Live-tail subscribers on a daemon while a load runs: followers that read every event as it
/// comes, and stalled ones that subscribe and never read (the daemon ends those as too slow).
final class TailSubscribers: Sendable {
    private let followers: [ConvLogClient]
    private let stalled: [ConvLogClient]
    private let delivered = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// The first sequence the subscribers were given.
    let start: Int64

    /// Subscribes `following` readers and `stalling` non-readers from the next event on.
    init(_ daemon: DaemonHandle, following: Int, stalling: Int) throws {
        // A follower waits at most a second for a notification, then looks whether to stop.
        followers = try (0..<following).map { _ in try ConvLogClient(socketPath: daemon.socketPath, timeout: .seconds(1)) }
        stalled = try (0..<stalling).map { _ in try daemon.client() }
        var start: Int64 = 0
        for client in followers + stalled {
            start = try client.callBlocking("subscribe").objectValue?["fromSequence"]?.integerValue ?? 0
        }
        self.start = start
        for client in followers {
            Task { [self] in
                while !stopping.load(ordering: .relaxed) {
                    guard let notification = try? await client.nextNotification() else { continue }
                    if notification.method == "event" { delivered.add(1, ordering: .relaxed) }
                }
                finished.signal()
            }
        }
    }

    /// Waits (up to 30 s) until every follower has read every event through `head`, then
    /// disconnects everyone; returns the events delivered per follower, on average.
    func finish(head: Int64) -> Double {
        let expected = Int(max(0, head - start + 1)) * followers.count
        let deadline = ContinuousClock.now + .seconds(30)
        while delivered.load(ordering: .relaxed) < expected, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        stopping.store(true, ordering: .relaxed)
        for _ in followers { finished.wait() }
        for client in followers + stalled { client.close() }
        return followers.isEmpty ? 0 : Double(delivered.load(ordering: .relaxed)) / Double(followers.count)
    }
}
