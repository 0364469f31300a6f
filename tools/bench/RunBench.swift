import ArgumentParser
import EventLog
import Foundation

/// `convlog-bench run`: the whole benchmark, convlog through its socket and the alternatives in the same run.
struct RunBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Benchmark convlogd through its socket, side by side with raw LMDB, a raw socket echo, LangGraph SqliteSaver and Redis.",
        discussion: """
            Each run starts its own convlogd (fsync durability) on a fresh directory: creates the \
            sessions, adds their messages from 1 client and then from --clients clients, reads \
            with getContext, and analyzes follow-ups. Then: rebuild events/s and start-up time on a \
            --rebuild-events log, and the baselines. Medians of --runs runs; ratios are convlog ÷ \
            baseline for rates and baseline ÷ convlog for latencies (above 1 is better for convlog).

            Examples:
              convlog-bench run                       # everything (make bench)
              convlog-bench run --smoke               # a few hundred operations, no baselines (make test)
              convlog-bench run --json bench.json --runs 5
            """
    )

    @Option(help: "Sessions.") var sessions = 2_000
    @Option(help: "Messages per session, per add workload.") var messages = 20
    @Option(help: "Bytes of text per message.") var bytes = 200
    @Option(help: "Concurrent clients of the concurrent add workload.") var clients = 16
    @Option(help: "getContext calls.") var reads = 20_000
    @Option(help: "analyzeFollowUp calls.") var analyses = 2_000
    @Option(help: "Runs; medians are reported.") var runs = 3
    @Option(name: .customLong("rebuild-events"), help: "Events of the log for the rebuild and start-up measurements (0: skip).") var rebuildEvents = 1_000_000
    @Option(name: .customLong("langgraph-sessions"), help: "Sessions for the (slow) LangGraph baseline.") var langGraphSessions = 200
    @Option(name: .customLong("langgraph-messages"), help: "Messages per session for the LangGraph baseline.") var langGraphMessages = 5
    @Option(help: "The daemon's durability: fsync (the default) or nosync.") var durability = "fsync"
    @Option(help: "Write the results as JSON to this file.") var json: String?
    @Flag(help: "A tiny run: 40 sessions × 4 messages, 4 clients, no rebuild, no baselines.") var smoke = false
    @Flag(name: .customLong("no-baselines"), help: "Measure convlog only.") var noBaselines = false

    func run() throws {
        var settings = self
        if smoke {
            (settings.sessions, settings.messages, settings.clients, settings.reads, settings.analyses) = (40, 4, 4, 200, 50)
            (settings.runs, settings.rebuildEvents, settings.noBaselines) = (1, 0, true)
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("convlog-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var report = BenchReport(settings: settings)

        for run in 1...settings.runs {
            progress("run \(run)/\(settings.runs): convlog")
            report.convlogRuns.append(try settings.measureConvlog(in: work.appendingPathComponent("run\(run)")))
        }
        if settings.rebuildEvents > 0 {
            progress("rebuild and start-up on a \(settings.rebuildEvents)-event log")
            report.rebuild = try settings.measureRebuild(in: work.appendingPathComponent("rebuild"))
        }
        if !settings.noBaselines {
            let baselines = Baselines(
                sourceDirectory: Self.sourceDirectory.appendingPathComponent("baselines"),
                workDirectory: work,
                python: Self.sourceDirectory.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".venv-bench/bin/python")
            )
            try baselines.compile()
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
                report.lmdb += attempt("raw LMDB") { try baselines.lmdb(count: 5_000, bytes: settings.bytes + 100) }
                report.echo += attempt("C socket echo") { try baselines.echo(rounds: 20_000) }
                report.redis += attempt("Redis") {
                    try baselines.redis(sessions: settings.sessions, messages: settings.messages, bytes: settings.bytes, clients: settings.clients, reads: settings.reads)
                }
                report.langGraph += attempt("LangGraph") {
                    try baselines.langGraph(sessions: settings.langGraphSessions, messages: settings.langGraphMessages, bytes: settings.bytes, reads: 1_000)
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

    /// This package's `tools/bench` folder (the bench runs from the checkout it was built in).
    static let sourceDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    private func progress(_ text: String) { FileHandle.standardError.write(Data("[bench] \(text)\n".utf8)) }

    /// One run of the convlog workloads on a fresh daemon.
    func measureConvlog(in directory: URL) throws -> ConvlogRun {
        let (daemon, _) = try DaemonHandle.start(dataDirectory: directory, durability: durability)
        defer { daemon.stop() }
        try ConvlogWorkloads.createSessions(daemon, sessions: sessions)
        let single = try ConvlogWorkloads.add(daemon, sessions: sessions, messages: messages, bytes: bytes, clients: 1, tag: "one")
        let concurrent = try ConvlogWorkloads.add(daemon, sessions: sessions, messages: messages, bytes: bytes, clients: clients, tag: "many")
        let read = try ConvlogWorkloads.reads(daemon, sessions: sessions, count: reads)
        let analysis = try ConvlogWorkloads.analyses(daemon, sessions: sessions, count: analyses)
        let stored = 2 * sessions * messages
        return ConvlogRun(
            singleAdd: single,
            concurrentAdd: concurrent,
            reads: read,
            analyses: analysis,
            residentBytes: daemon.anonymousResidentBytes,
            bytesPerMessage: Double(daemon.dataFileBytes) / Double(stored)
        )
    }

    /// Rebuild events/s (3 times) and daemon start-up time (3 times) on a synthetic log.
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
        var startups: [Double] = []
        for _ in 0..<3 {
            let (daemon, startup) = try DaemonHandle.start(dataDirectory: directory)
            daemon.stop()
            startups.append(startup)
        }
        return RebuildResult(eventsPerSecond: rates, startupSeconds: startups)
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
    var singleAdd: WorkloadResult
    var concurrentAdd: WorkloadResult
    var reads: WorkloadResult
    var analyses: WorkloadResult
    var residentBytes: Int
    var bytesPerMessage: Double
}

/// Rebuild and start-up on the large log.
struct RebuildResult {
    var eventsPerSecond: [Double]
    var startupSeconds: [Double]
}
