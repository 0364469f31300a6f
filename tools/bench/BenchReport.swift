import EventLog
import Foundation

/// Everything one `convlog-bench run` measured, its medians and ratios.
struct BenchReport {
    let settings: RunBench
    var convlogRuns: [ConvlogRun] = []
    var rebuild: RebuildResult?
    var lmdb: [[String: JSONValue]] = []
    var echo: [[String: JSONValue]] = []
    var redis: [[String: JSONValue]] = []
    var langGraph: [[String: JSONValue]] = []
    /// Baselines that failed, with why.
    var failures: [String] = []

    /// A metric: its median over runs, and its comparisons.
    struct Row {
        var name: String
        var value: Double
        var unit: String
        var comparisons: [(baseline: String, value: Double, ratio: Double)] = []
    }

    private func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    private func median(_ runs: [[String: JSONValue]], _ key: String) -> Double? {
        runs.isEmpty ? nil : median(runs.map { $0.number(key) })
    }

    var rows: [Row] {
        let runs = convlogRuns
        var rows: [Row] = []
        // Rates: higher is better, ratio convlog ÷ baseline. Latencies: lower is better, ratio baseline ÷ convlog... stated per row.
        var single = Row(name: "add, 1 client, durable (msgs/s)", value: median(runs.map(\.singleAdd.perSecond)), unit: "msg/s")
        if let lmdb1 = median(lmdb, "onePerCommitMessagesPerSecond") { single.comparisons.append(("raw LMDB, 1 commit per message", lmdb1, single.value / lmdb1)) }
        if let redis1 = median(redis, "addMessagesPerSecond") { single.comparisons.append(("Redis RPUSH, appendfsync always", redis1, single.value / redis1)) }
        if let graph = median(langGraph, "addMessagesPerSecond") { single.comparisons.append(("LangGraph SqliteSaver", graph, single.value / graph)) }
        rows.append(single)

        var singleLatency = Row(name: "add, 1 client, p50 latency (µs)", value: median(runs.map { $0.singleAdd.latency.micros(50) }), unit: "µs")
        if let commit = median(lmdb, "onePerCommitP50Micros") { singleLatency.comparisons.append(("raw LMDB commit p50 (convlog ÷ LMDB)", commit, singleLatency.value / commit)) }
        rows.append(singleLatency)

        var concurrent = Row(name: "add, \(settings.clients) clients, durable (msgs/s)", value: median(runs.map(\.concurrentAdd.perSecond)), unit: "msg/s")
        if let batched = median(lmdb, "batchedMessagesPerSecond") { concurrent.comparisons.append(("raw LMDB, 64 per commit", batched, concurrent.value / batched)) }
        if let many = median(redis, "concurrentAddMessagesPerSecond") { concurrent.comparisons.append(("Redis, \(settings.clients) clients", many, concurrent.value / many)) }
        if let pipelined = median(redis, "pipelinedAddMessagesPerSecond") { concurrent.comparisons.append(("Redis pipelined ×64", pipelined, concurrent.value / pipelined)) }
        if let graph = median(langGraph, "addMessagesPerSecond") { concurrent.comparisons.append(("LangGraph SqliteSaver", graph, concurrent.value / graph)) }
        rows.append(concurrent)
        rows.append(Row(name: "add, \(settings.clients) clients, p50 / p99 latency (µs)", value: median(runs.map { $0.concurrentAdd.latency.micros(50) }), unit: "µs / \(Int(median(runs.map { $0.concurrentAdd.latency.micros(99) })))"))

        var read = Row(name: "getContext (last 5), 1 client, p50 (µs)", value: median(runs.map { $0.reads.latency.micros(50) }), unit: "µs")
        if let echoP50 = median(echo, "roundTripP50Micros") { read.comparisons.append(("C Unix-socket echo p50 (convlog ÷ echo)", echoP50, read.value / echoP50)) }
        if let redisRead = median(redis, "readP50Micros") { read.comparisons.append(("Redis LRANGE p50 (convlog ÷ Redis)", redisRead, read.value / redisRead)) }
        if let graphRead = median(langGraph, "readP50Micros") { read.comparisons.append(("LangGraph get_state p50 (convlog ÷ LangGraph)", graphRead, read.value / graphRead)) }
        rows.append(read)
        rows.append(Row(name: "getContext p90 / p99 / max (µs)", value: median(runs.map { $0.reads.latency.micros(90) }), unit: "µs / \(Int(median(runs.map { $0.reads.latency.micros(99) }))) / \(Int(median(runs.map(\.reads.latency.maxMicros))))"))
        rows.append(Row(name: "analyzeFollowUp (rules), p50 (µs)", value: median(runs.map { $0.analyses.latency.micros(50) }), unit: "µs"))
        if let rebuild {
            rows.append(Row(name: "rebuild, \(settings.rebuildEvents) events (events/s)", value: median(rebuild.eventsPerSecond), unit: "events/s"))
            rows.append(Row(name: "daemon start-up on that log (ms)", value: median(rebuild.startupSeconds) * 1_000, unit: "ms"))
        }
        rows.append(Row(name: "daemon RssAnon after the load (MiB)", value: median(runs.map { Double($0.residentBytes) / 1_048_576 }), unit: "MiB"))
        rows.append(Row(name: "bytes on disk per message", value: median(runs.map(\.bytesPerMessage)), unit: "B"))
        return rows
    }

    func table() -> String {
        var lines = ["metric | convlog | baseline | baseline value | ratio", "---|---|---|---|---"]
        for row in rows {
            let value = String(format: "%.1f %@", row.value, row.unit)
            if row.comparisons.isEmpty {
                lines.append("\(row.name) | \(value) | | |")
            }
            for (index, comparison) in row.comparisons.enumerated() {
                lines.append("\(index == 0 ? row.name : "") | \(index == 0 ? value : "") | \(comparison.baseline) | \(String(format: "%.1f", comparison.value)) | \(String(format: "%.2f×", comparison.ratio))")
            }
        }
        return lines.joined(separator: "\n")
    }

    var jsonValue: JSONValue {
        .object([
            "settings": [
                "sessions": .integer(Int64(settings.sessions)), "messages": .integer(Int64(settings.messages)), "bytes": .integer(Int64(settings.bytes)),
                "clients": .integer(Int64(settings.clients)), "reads": .integer(Int64(settings.reads)), "runs": .integer(Int64(settings.runs)),
            ],
            "results": .array(rows.map { row in
                [
                    "metric": .string(row.name), "value": .double(row.value), "unit": .string(row.unit),
                    "comparisons": .array(row.comparisons.map { ["baseline": .string($0.baseline), "value": .double($0.value), "ratio": .double($0.ratio)] }),
                ]
            }),
            "baselineFailures": .array(failures.map(JSONValue.string)),
            "baselineRuns": ["lmdb": .array(lmdb.map(JSONValue.object)), "echo": .array(echo.map(JSONValue.object)), "redis": .array(redis.map(JSONValue.object)), "langGraph": .array(langGraph.map(JSONValue.object))],
        ])
    }
}
