import EventLog
import Foundation
import JSON

/// Everything one `convlog-bench run` measured, its medians and ratios.
struct BenchReport {
    let settings: RunBench
    var convlogRuns: [ConvlogRun] = []
    var rebuild: RebuildResult?
    var lmdb: [[String: JSONValue]] = []
    var echo: [[String: JSONValue]] = []
    var redis: [[String: JSONValue]] = []
    var langGraph: [[String: JSONValue]] = []
    /// LangGraph chats (`langgraph_chat.py`): one result per checkpointer, length and run.
    var chats: [[String: JSONValue]] = []
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
        // Every ratio is convlog ÷ baseline: above 1 is better for rates, below 1 for latencies and costs.
        var single = Row(name: "add, 1 client, durable (msgs/s)", value: median(runs.map(\.singleAdd.perSecond)), unit: "msg/s")
        if let lmdb1 = median(lmdb, "onePerCommitMessagesPerSecond") { single.comparisons.append(("raw LMDB, 1 commit per message", lmdb1, single.value / lmdb1)) }
        if let redis1 = median(redis, "addMessagesPerSecond") { single.comparisons.append(("Redis RPUSH, appendfsync always, 1 client", redis1, single.value / redis1)) }
        if let graph = median(langGraph, "addMessagesPerSecond") { single.comparisons.append(("LangGraph SqliteSaver", graph, single.value / graph)) }
        rows.append(single)

        var singleLatency = Row(name: "add, 1 client, p50 latency (µs)", value: median(runs.map(\.singleAdd.p50Micros)), unit: "µs")
        if let commit = median(lmdb, "onePerCommitP50Micros") { singleLatency.comparisons.append(("raw LMDB commit p50", commit, singleLatency.value / commit)) }
        if let redis1 = median(redis, "addP50Micros") { singleLatency.comparisons.append(("Redis RPUSH p50, 1 client", redis1, singleLatency.value / redis1)) }
        rows.append(singleLatency)

        var singleCPU = Row(name: "daemon CPU per add, 1 client (µs)", value: median(runs.map(\.singleAdd.serverCPUMicrosPerRequest)), unit: "µs")
        if let redisCPU = median(redis, "addCPUMicros") { singleCPU.comparisons.append(("redis-server CPU per RPUSH, 1 client", redisCPU, singleCPU.value / redisCPU)) }
        rows.append(singleCPU)

        var concurrent = Row(name: "add, \(settings.clients) clients, durable (msgs/s)", value: median(runs.map(\.concurrentAdd.perSecond)), unit: "msg/s")
        if let many = median(redis, "concurrentAddMessagesPerSecond") { concurrent.comparisons.append(("Redis, appendfsync always, \(settings.clients) clients", many, concurrent.value / many)) }
        if let batched = median(lmdb, "batchedMessagesPerSecond") { concurrent.comparisons.append(("raw LMDB, \(settings.clients) per commit", batched, concurrent.value / batched)) }
        if let graph = median(langGraph, "addMessagesPerSecond") { concurrent.comparisons.append(("LangGraph SqliteSaver", graph, concurrent.value / graph)) }
        rows.append(concurrent)
        rows.append(Row(
            name: "add, \(settings.clients) clients, p50 / p99 latency (µs)", value: median(runs.map(\.concurrentAdd.p50Micros)),
            unit: "µs / \(Int(median(runs.map(\.concurrentAdd.p99Micros))))"
        ))
        var concurrentCPU = Row(name: "daemon CPU per add, \(settings.clients) clients (µs)", value: median(runs.map(\.concurrentAdd.serverCPUMicrosPerRequest)), unit: "µs")
        if let redisCPU = median(redis, "concurrentAddCPUMicros") { concurrentCPU.comparisons.append(("redis-server CPU per RPUSH", redisCPU, concurrentCPU.value / redisCPU)) }
        rows.append(concurrentCPU)
        rows.append(Row(name: "add, \(settings.clients) clients, nosync (msgs/s)", value: median(runs.map(\.nosyncConcurrentAdd.perSecond)), unit: "msg/s"))
        rows.append(Row(name: "daemon CPU per add, \(settings.clients) clients, nosync (µs)", value: median(runs.map(\.nosyncConcurrentAdd.serverCPUMicrosPerRequest)), unit: "µs"))
        var tailed = Row(
            name: "  the same with 3 live-tail subscribers, 2 reading, 1 stalled (msgs/s; events per add read: \(String(format: "%.2f", median(runs.map(\.tailDeliveredFraction)))))",
            value: median(runs.map(\.tailedConcurrentAdd.perSecond)), unit: "msg/s"
        )
        tailed.comparisons.append(("no subscriber, same run", median(runs.map(\.nosyncConcurrentAdd.perSecond)), median(runs.map { $0.tailedConcurrentAdd.perSecond / $0.nosyncConcurrentAdd.perSecond })))
        rows.append(tailed)
        var tailedCPU = Row(name: "  daemon CPU per add with those subscribers (µs)", value: median(runs.map(\.tailedConcurrentAdd.serverCPUMicrosPerRequest)), unit: "µs")
        tailedCPU.comparisons.append((
            "no subscriber, same run", median(runs.map(\.nosyncConcurrentAdd.serverCPUMicrosPerRequest)),
            median(runs.map { $0.tailedConcurrentAdd.serverCPUMicrosPerRequest / $0.nosyncConcurrentAdd.serverCPUMicrosPerRequest })
        ))
        rows.append(tailedCPU)

        var read = Row(name: "getContext (last 5), 1 client, p50 (µs)", value: median(runs.map(\.reads.p50Micros)), unit: "µs")
        if let echoP50 = median(echo, "roundTripP50Micros") { read.comparisons.append(("C Unix-socket echo p50", echoP50, read.value / echoP50)) }
        if let redisRead = median(redis, "readP50Micros") { read.comparisons.append(("Redis LRANGE -5 -1 p50", redisRead, read.value / redisRead)) }
        if let graphRead = median(langGraph, "readP50Micros") { read.comparisons.append(("LangGraph get_state p50", graphRead, read.value / graphRead)) }
        rows.append(read)
        rows.append(Row(name: "getContext p99 (µs)", value: median(runs.map(\.reads.p99Micros)), unit: "µs"))
        rows.append(Row(name: "analyzeFollowUp (rules, Swift client), p50 (µs)", value: median(runs.map { $0.analyses.latency.micros(50) }), unit: "µs"))
        if let rebuild {
            rows.append(Row(name: "rebuild, \(settings.rebuildEvents) events (events/s)", value: median(rebuild.eventsPerSecond), unit: "events/s"))
            rows.append(Row(name: "verify, \(settings.rebuildEvents) events (events/s)", value: median(rebuild.verifyEventsPerSecond), unit: "events/s"))
            rows.append(Row(name: "daemon start-up on that log (ms)", value: median(rebuild.startupSeconds) * 1_000, unit: "ms"))
        }
        rows += chatRows
        rows.append(Row(name: "daemon RssAnon after the load (MiB)", value: median(runs.map { Double($0.residentBytes) / 1_048_576 }), unit: "MiB"))
        for (label, use) in [("\(settings.bytes)-byte", runs.map(\.diskPerMessage)), ("\(settings.largeBytes)-byte", runs.map(\.largeDiskPerMessage))] {
            var disk = Row(name: "bytes on disk per \(label) message", value: median(use.map(\.bytesPerMessage)), unit: "B")
            disk.comparisons.append(("the message as JSON (add params)", median(use.map(\.messageJSONBytes)), median(use.map(\.ratio))))
            rows.append(disk)
        }
        return rows
    }

    /// The LangGraph chats: ConvLogSaver against SqliteSaver and InMemorySaver, per chat length.
    private var chatRows: [Row] {
        var rows: [Row] = []
        for turns in settings.chatTurnCounts {
            func runs(_ saver: String) -> [[String: JSONValue]] {
                chats.filter { $0["saver"]?.stringValue == saver && $0["turns"].map { $0 == .integer(Int64(turns)) } ?? false }
            }
            let (convlog, sqlite, memory) = (runs("convlog"), runs("sqlite"), runs("memory"))
            guard let invoke = median(convlog, "invokeP50Micros") else { continue }
            var perInvoke = Row(name: "LangGraph chat, \(turns) turns: invoke p50, ConvLogSaver (µs)", value: invoke, unit: "µs")
            if let value = median(sqlite, "invokeP50Micros") { perInvoke.comparisons.append(("SqliteSaver invoke p50", value, invoke / value)) }
            if let value = median(memory, "invokeP50Micros") { perInvoke.comparisons.append(("InMemorySaver invoke p50", value, invoke / value)) }
            rows.append(perInvoke)
            // Growth with the thread's length: the last ten turns against the first ten; LangGraph
            // itself (InMemorySaver) grows too, so the saver's own cost is the difference.
            let last = median(convlog, "lastTenP50Micros") ?? 0
            var growth = Row(name: "  last 10 turns p50, ConvLogSaver (µs; first 10: \(Int(median(convlog, "firstTenP50Micros") ?? 0)))", value: last, unit: "µs")
            if let value = median(sqlite, "lastTenP50Micros") { growth.comparisons.append(("SqliteSaver, last 10 turns", value, last / value)) }
            if let value = median(memory, "lastTenP50Micros") {
                growth.comparisons.append(("InMemorySaver, last 10 turns (first 10: \(Int(median(memory, "firstTenP50Micros") ?? 0)))", value, last / value))
            }
            rows.append(growth)
            let bytes = median(convlog, "bytesOnDisk") ?? 0
            var disk = Row(name: "  bytes on disk, ConvLogSaver (B)", value: bytes, unit: "B")
            if let value = median(sqlite, "bytesOnDisk") { disk.comparisons.append(("SqliteSaver file", value, bytes / value)) }
            if let value = median(convlog, "messageBytes") { disk.comparisons.append(("the messages' text", value, bytes / value)) }
            rows.append(disk)
        }
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
            "baselineRuns": ["lmdb": .array(lmdb.map(JSONValue.object)), "echo": .array(echo.map(JSONValue.object)), "redis": .array(redis.map(JSONValue.object)), "langGraph": .array(langGraph.map(JSONValue.object)), "chats": .array(chats.map(JSONValue.object))],
        ])
    }
}
