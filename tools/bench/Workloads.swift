import ConvLogClient
import EventLog
import Foundation
import Histogram
import JSON

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
