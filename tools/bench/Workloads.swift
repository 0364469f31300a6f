import ConvLogClient
import EventLog
import Foundation
import Histogram

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

/// The convlog side of the benchmark, through the real socket and client.
enum ConvlogWorkloads {
    /// `create` for every session, from one client.
    static func createSessions(_ daemon: DaemonHandle, sessions: Int) throws {
        let client = try daemon.client()
        for session in 0..<sessions { _ = try client.callBlocking("create", ["sessionId": .string("s\(session)"), "userId": "bench"]) }
    }

    /// Durable adds: `clients` threads, each owning every clients-th session; conversations
    /// interleaved (round r adds message r to each of the client's sessions); roles alternate.
    static func add(_ daemon: DaemonHandle, sessions: Int, messages: Int, bytes: Int, clients: Int, tag: String) throws -> WorkloadResult {
        let text = JSONValue.string(String(repeating: "m", count: bytes))
        let collected = Collected(clients: clients)
        let socketPath = daemon.socketPath
        let group = DispatchGroup()
        let start = ContinuousClock.now
        for worker in 0..<clients {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    let client = try ConvLogClient(socketPath: socketPath, timeout: .seconds(60))
                    var recorder = LatencyRecorder()
                    for round in 0..<messages {
                        for session in stride(from: worker, to: sessions, by: clients) {
                            let params: JSONValue = [
                                "sessionId": .string("s\(session)"), "role": round % 2 == 0 ? "user" : "assistant", "content": text,
                                "metadata": ["turn": .integer(Int64(round))], "messageId": .string("\(tag)-\(round)"),
                            ]
                            _ = try recorder.time { try client.callBlocking("add", params) }
                        }
                    }
                    collected.finish(worker, recorder)
                } catch {
                    collected.fail(error)
                }
            }
            thread.start()
        }
        group.wait()
        let elapsed = seconds(since: start)
        return WorkloadResult(operations: sessions * messages, seconds: elapsed, latency: try collected.merged())
    }

    /// What the writer threads hand back.
    private final class Collected: @unchecked Sendable {
        // Guarded by `lock`.
        private let lock = NSLock()
        private var recorders: [LatencyRecorder]
        private var failures: [any Error] = []

        init(clients: Int) { recorders = Array(repeating: LatencyRecorder(), count: clients) }

        func finish(_ worker: Int, _ recorder: LatencyRecorder) { lock.withLock { recorders[worker] = recorder } }
        func fail(_ error: any Error) { lock.withLock { failures.append(error) } }

        func merged() throws -> LatencyRecorder {
            try lock.withLock {
                if let failure = failures.first { throw failure }
                var merged = LatencyRecorder()
                for recorder in recorders { merged.merge(recorder) }
                return merged
            }
        }
    }

    /// `getContext` (last 5 messages) on random sessions, from one client.
    static func reads(_ daemon: DaemonHandle, sessions: Int, count: Int) throws -> WorkloadResult {
        let client = try daemon.client()
        var recorder = LatencyRecorder()
        var generator = SystemRandomNumberGenerator()
        let start = ContinuousClock.now
        for _ in 0..<count {
            let params: JSONValue = ["sessionId": .string("s\(Int.random(in: 0..<sessions, using: &generator))"), "window": 5]
            _ = try recorder.time { try client.callBlocking("getContext", params) }
        }
        return WorkloadResult(operations: count, seconds: seconds(since: start), latency: recorder)
    }

    /// `analyzeFollowUp` (rules) on random sessions, from one client.
    static func analyses(_ daemon: DaemonHandle, sessions: Int, count: Int) throws -> WorkloadResult {
        let client = try daemon.client()
        var recorder = LatencyRecorder()
        let queries: [JSONValue] = ["What about in the US?", "Who are those artists?", "How many albums did AC/DC release in 1980?"]
        let start = ContinuousClock.now
        for index in 0..<count {
            let params: JSONValue = ["sessionId": .string("s\(index % sessions)"), "query": queries[index % queries.count]]
            _ = try recorder.time { try client.callBlocking("analyzeFollowUp", params) }
        }
        return WorkloadResult(operations: count, seconds: seconds(since: start), latency: recorder)
    }
}
