import ArgumentParser
import EventLog
import Foundation
import JSON

/// `convlog-bench run`: the whole benchmark, convlog through its socket and the alternatives in the same run.
struct RunBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Benchmark convlogd through its socket, side by side with raw LMDB, a raw socket echo, LangGraph SqliteSaver and Redis.",
        discussion: """
            Each run starts its own convlogd (fsync durability) on a fresh directory and drives it \
            with a C load driver (tools/bench/baselines/rpc_load.c, one request in flight per \
            client): adds from 1 client and from --clients clients (sessions created by the first \
            add, createIfMissing), getContext reads, and analyzeFollowUp through the Swift client; \
            the daemon's CPU time per add comes from /proc. A second daemon with --durability \
            nosync takes the concurrent adds again, a third the --large-bytes messages (bytes on \
            disk). Then: rebuild and verify events/s and start-up time on a --rebuild-events log, and \
            the baselines (Redis through the same C driver). Medians of --runs runs; ratios are \
            convlog ÷ baseline.

            Examples:
              convlog-bench run                       # everything (make bench)
              convlog-bench run --smoke               # a few hundred operations, no baselines (make test)
              convlog-bench run --json bench.json --runs 5
            """
    )

    @Option(help: "Sessions of the concurrent add workload (and of the reads).") var sessions = 2_000
    @Option(help: "Messages per session of the concurrent add workload.") var messages = 20
    @Option(name: .customLong("single-sessions"), help: "Sessions of the one-client add workload.") var singleSessions = 250
    @Option(name: .customLong("single-messages"), help: "Messages per session of the one-client add workload.") var singleMessages = 16
    @Option(help: "Bytes of text per message.") var bytes = 200
    @Option(name: .customLong("large-bytes"), help: "Bytes of text per message of the large-message workload (bytes on disk only).") var largeBytes = 2_000
    @Option(help: "Concurrent clients of the concurrent add workload.") var clients = 16
    @Option(help: "getContext calls.") var reads = 20_000
    @Option(help: "analyzeFollowUp calls.") var analyses = 2_000
    @Option(help: "Runs; medians are reported.") var runs = 3
    @Option(name: .customLong("rebuild-events"), help: "Events of the log for the rebuild, verify and start-up measurements (0: skip).") var rebuildEvents = 1_000_000
    @Option(name: .customLong("langgraph-sessions"), help: "Sessions for the (slow) LangGraph baseline.") var langGraphSessions = 200
    @Option(name: .customLong("langgraph-messages"), help: "Messages per session for the LangGraph baseline.") var langGraphMessages = 5
    @Option(name: .customLong("chat-turns"), help: "Turns of the LangGraph chats run with each checkpointer (comma-separated).") var chatTurns = "20,200"
    @Option(help: "Write the results as JSON to this file.") var json: String?
    @Flag(help: "A tiny run: 40 sessions × 4 messages, 4 clients, no rebuild, no baselines.") var smoke = false
    @Flag(name: .customLong("no-baselines"), help: "Measure convlog only.") var noBaselines = false

    func run() throws {
        var settings = self
        if smoke {
            (settings.sessions, settings.messages, settings.clients, settings.reads, settings.analyses) = (40, 4, 4, 200, 50)
            (settings.singleSessions, settings.singleMessages) = (10, 4)
            (settings.runs, settings.rebuildEvents, settings.noBaselines) = (1, 0, true)
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("convlog-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var report = BenchReport(settings: settings)
        let baselines = Baselines(
            sourceDirectory: Self.sourceDirectory.appendingPathComponent("baselines"),
            workDirectory: work,
            python: Self.sourceDirectory.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".venv-bench/bin/python")
        )
        try baselines.compile()

        for run in 1...settings.runs {
            progress("run \(run)/\(settings.runs): convlog")
            report.convlogRuns.append(try settings.measureConvlog(in: work.appendingPathComponent("run\(run)"), driver: baselines))
        }
        if settings.rebuildEvents > 0 {
            progress("rebuild, verify and start-up on a \(settings.rebuildEvents)-event log")
            report.rebuild = try settings.measureRebuild(in: work.appendingPathComponent("rebuild"))
        }
        if !settings.noBaselines {
            // A failing baseline is reported and left out; it does not throw away the rest.
            func attempt(_ name: String, _ body: () throws -> [String: JSONValue]) -> [[String: JSONValue]] {
                do {
                    return [try body()]
                } catch {
                    progress("baseline \(name) failed: \(error)")
                    report.failures.append("\(name): \(error)")
                    return []
                }
            }
            for run in 1...settings.runs {
                progress("run \(run)/\(settings.runs): baselines")
                report.lmdb += attempt("raw LMDB") { try baselines.lmdb(count: 5_000, bytes: settings.bytes + 100, batch: settings.clients) }
                report.echo += attempt("C socket echo") { try baselines.echo(rounds: 20_000) }
                report.redis += attempt("Redis") {
                    try baselines.redis(
                        sessions: settings.sessions, messages: settings.messages, singleSessions: settings.singleSessions,
                        singleMessages: settings.singleMessages, bytes: settings.bytes, clients: settings.clients, reads: settings.reads
                    )
                }
                report.langGraph += attempt("LangGraph") {
                    try baselines.langGraph(sessions: settings.langGraphSessions, messages: settings.langGraphMessages, bytes: settings.bytes, reads: 1_000)
                }
                for turns in settings.chatTurnCounts {
                    for saver in ["memory", "sqlite", "convlog"] {
                        report.chats += attempt("LangGraph chat, \(saver), \(turns) turns") {
                            guard saver == "convlog" else { return try baselines.langGraphChat(saver: saver, turns: turns, bytes: settings.bytes) }
                            let directory = work.appendingPathComponent("chat-\(run)-\(turns)")
                            let (daemon, _) = try DaemonHandle.start(dataDirectory: directory)
                            defer { daemon.stop() }
                            return try baselines.langGraphChat(saver: saver, turns: turns, bytes: settings.bytes, socket: daemon.socketPath, dataDirectory: directory)
                        }
                    }
                }
            }
        }
        print(report.table())
        for failure in report.failures { print("baseline failed: \(failure)") }
        if let path = settings.json {
            try Data(report.jsonValue.canonicalBytes).write(to: URL(fileURLWithPath: path))
            print("results written to \(path)")
        }
    }

    /// The chat lengths of ``chatTurns``.
    var chatTurnCounts: [Int] { chatTurns.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 } }

    /// This package's `tools/bench` folder (the bench runs from the checkout it was built in).
    static let sourceDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    private func progress(_ text: String) { FileHandle.standardError.write(Data("[bench] \(text)\n".utf8)) }

    /// One run of the convlog workloads on fresh daemons.
    func measureConvlog(in directory: URL, driver: Baselines) throws -> ConvlogRun {
        let (daemon, _) = try DaemonHandle.start(dataDirectory: directory.appendingPathComponent("fsync"), durability: "fsync")
        defer { daemon.stop() }
        func load(_ daemon: DaemonHandle, _ mode: String, clients: Int, sessions: Int, messages: Int, bytes: Int, tag: String) throws -> LoadResult {
            try driver.load(mode, socket: daemon.socketPath, clients: clients, sessions: sessions, messages: messages, bytes: bytes, tag: tag, serverPID: daemon.pid)
        }
        let single = try load(daemon, "convlog-add", clients: 1, sessions: singleSessions, messages: singleMessages, bytes: bytes, tag: "one")
        let concurrent = try load(daemon, "convlog-add", clients: clients, sessions: sessions, messages: messages, bytes: bytes, tag: "many")
        let read = try load(daemon, "convlog-read", clients: 1, sessions: sessions, messages: reads, bytes: bytes, tag: "many")
        let analysis = try ConvlogWorkloads.analyses(daemon, sessions: sessions, tag: "many", count: analyses)
        let stored = single.requests + concurrent.requests

        let (unsynced, _) = try DaemonHandle.start(dataDirectory: directory.appendingPathComponent("nosync"), durability: "nosync")
        defer { unsynced.stop() }
        let nosync = try load(unsynced, "convlog-add", clients: clients, sessions: sessions, messages: messages, bytes: bytes, tag: "many")
        // The same load again with live-tail subscribers: two that read everything, one that reads nothing.
        let subscribers = try TailSubscribers(unsynced, following: 2, stalling: 1)
        let tailed = try load(unsynced, "convlog-add", clients: clients, sessions: sessions, messages: messages, bytes: bytes, tag: "tailed")
        let tailDelivered = subscribers.finish(head: try unsynced.client().callBlocking("stats").objectValue?["headSequence"]?.integerValue ?? 0)

        let (large, _) = try DaemonHandle.start(dataDirectory: directory.appendingPathComponent("large"), durability: "nosync")
        defer { large.stop() }
        let largeMessages = max(1, min(messages, 8))
        let largeLoad = try load(large, "convlog-add", clients: clients, sessions: sessions / 4 + clients, messages: largeMessages, bytes: largeBytes, tag: "large")
        return ConvlogRun(
            singleAdd: single,
            concurrentAdd: concurrent,
            nosyncConcurrentAdd: nosync,
            tailedConcurrentAdd: tailed,
            tailDeliveredFraction: tailDelivered / Double(max(1, tailed.requests)),
            reads: read,
            analyses: analysis,
            residentBytes: daemon.anonymousResidentBytes,
            diskPerMessage: DiskUse(dataFileBytes: Double(daemon.dataFileBytes), messages: stored, messageJSONBytes: concurrent.meanPayloadBytes),
            largeDiskPerMessage: DiskUse(dataFileBytes: Double(large.dataFileBytes), messages: largeLoad.requests, messageJSONBytes: largeLoad.meanPayloadBytes)
        )
    }

    /// Rebuild and verify events/s (3 times each) and daemon start-up time (3 times) on a synthetic log.
    func measureRebuild(in directory: URL) throws -> RebuildResult {
        let perSession = 20
        try runTool(siblingExecutable("convlog-bench"), [
            "populate", "--data-dir", directory.path, "--sessions", String(max(1, rebuildEvents / perSession)), "--messages", String(perSession - 1),
        ])
        var rates: [Double] = []
        for _ in 0..<3 {
            let output = try runTool(siblingExecutable("convlog"), ["rebuild", "--data-dir", directory.path])
            guard let match = output.split(separator: "(").last, let rate = Double(match.split(separator: " ").first ?? "") else {
                throw ValidationErrorText("unexpected rebuild output: \(output)")
            }
            rates.append(rate)
        }
        var verifyRates: [Double] = []
        for _ in 0..<3 {
            let started = ContinuousClock.now
            let output = try runTool(siblingExecutable("convlog"), ["verify", "--data-dir", directory.path])
            guard let events = output.split(separator: ",").dropFirst().first?.split(separator: " ").first.flatMap({ Double($0) }) else {
                throw ValidationErrorText("unexpected verify output: \(output)")
            }
            verifyRates.append(events / seconds(since: started))
        }
        var startups: [Double] = []
        for _ in 0..<3 {
            let (daemon, startup) = try DaemonHandle.start(dataDirectory: directory)
            daemon.stop()
            startups.append(startup)
        }
        return RebuildResult(eventsPerSecond: rates, verifyEventsPerSecond: verifyRates, startupSeconds: startups)
    }

    @discardableResult
    private func runTool(_ executable: URL, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationErrorText("\(executable.lastPathComponent) \(arguments.joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The convlog measurements of one run.
struct ConvlogRun {
    var singleAdd: LoadResult
    var concurrentAdd: LoadResult
    var nosyncConcurrentAdd: LoadResult
    /// The nosync load again while two live-tail subscribers read every event and one reads nothing.
    var tailedConcurrentAdd: LoadResult
    /// Events a reading subscriber got per add of that load (each add writes one event, plus a
    /// SessionCreated for each session it starts: above 1).
    var tailDeliveredFraction: Double
    var reads: LoadResult
    var analyses: WorkloadResult
    var residentBytes: Int
    var diskPerMessage: DiskUse
    var largeDiskPerMessage: DiskUse
}

/// The data file's size per stored message, against the messages' own JSON.
struct DiskUse {
    var dataFileBytes: Double
    var messages: Double
    /// The mean bytes of one message as JSON (the `add` params).
    var messageJSONBytes: Double

    var bytesPerMessage: Double { messages > 0 ? dataFileBytes / messages : 0 }
    /// Bytes on disk per byte of message JSON.
    var ratio: Double { messageJSONBytes > 0 ? bytesPerMessage / messageJSONBytes : 0 }
}

/// Rebuild, verify and start-up on the large log.
struct RebuildResult {
    var eventsPerSecond: [Double]
    var verifyEventsPerSecond: [Double]
    var startupSeconds: [Double]
}
