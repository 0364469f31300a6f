import EventLog
import Foundation
import Testing
import JSON

@Suite("convlog client verbs")
struct ClientVerbTests {
    @Test("the README session: create, two turns, context, analyze, sessions — over a real daemon")
    func readmeSession() async throws {
        let directory = URL(fileURLWithPath: "/tmp/convlog-verbs-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("convlogd.sock").path
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("convlogd")
        daemon.arguments = ["--data-dir", directory.path, "--log-level", "error"]
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer {
            kill(daemon.processIdentifier, SIGTERM)
            daemon.waitUntilExit()
        }
        var ready = false
        for _ in 0..<500 where !ready {
            ready = (try? convlog(["sessions", "--socket", socket]))?.status == 0
            if !ready { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(ready, "convlogd did not come up")

        func run(_ arguments: [String]) throws -> JSONValue {
            let result = try convlog(arguments + ["--socket", socket])
            #expect(result.status == 0, "\(arguments): \(result.errors)")
            return try JSONValue(parsing: Array(result.output.utf8))
        }
        let created = try run(["create", "--session-id", "chat-1", "--user-id", "alice"])
        #expect(created.objectValue?["sessionId"] == "chat-1")
        _ = try run(["add", "chat-1", "user", "How many artists start with A-E?"])
        _ = try run(["add", "chat-1", "assistant", "There are 86 artists whose names start with A to E."])
        let context = try run(["context", "chat-1", "--window", "5"])
        #expect(try #require(context.objectValue?["messages"]?.arrayValue).count == 2)
        let analysis = try run(["analyze", "chat-1", "Who are those artists?"])
        #expect(analysis.objectValue?["isFollowUp"] == true)
        #expect(analysis.objectValue?["standaloneQuery"] == "Who are the artists that start with A-E?")
        // A data directory implies its socket, for the client verbs as for the offline tools.
        let viaDataDir = try convlog(["sessions", "--user-id", "alice", "--data-dir", directory.path])
        #expect(viaDataDir.status == 0, "\(viaDataDir.errors)")
        let both = try convlog(["sessions", "--data-dir", directory.path, "--socket", socket])
        #expect(both.status != 0 && both.errors.contains("not both"), "\(both.errors)")
        // ...and a socket locates the log for the offline tools (its directory).
        let statsViaSocket = try convlog(["stats", "--socket", socket])
        #expect(statsViaSocket.status == 0 && statsViaSocket.output.contains("sessions"), "\(statsViaSocket.errors)")
        let sessions = try run(["sessions", "--user-id", "alice"])
        #expect(try #require(sessions.objectValue?["sessions"]?.arrayValue).count == 1)

        // The offline tools read the log while the daemon runs (LMDB readers span processes).
        let replay = try convlog(["replay", "--data-dir", directory.path, "--session", "chat-1", "--format", "jsonl"])
        #expect(replay.status == 0, "\(replay.errors)")
        let types = try replay.output.split(separator: "\n").map { try JSONValue(parsing: Array($0.utf8)).objectValue?["type"] }
        #expect(types == ["SessionCreated", "MessageAdded", "MessageAdded"])
        let verify = try convlog(["verify", "--data-dir", directory.path, "--projections"])
        #expect(verify.status == 0, "\(verify.output) \(verify.errors)")

        // A different window is the daemon's setting: refused while it runs, so verify never sees a
        // window built with other parameters than the daemon keeps (no false "tampered").
        let resized = try convlog(["rebuild", "--data-dir", directory.path, "--projection", "window", "--window", "100"])
        #expect(resized.status == 1)
        #expect(resized.errors.contains("window of 50") && resized.errors.contains("restart convlogd with --window 100"), "\(resized.errors)")
        let same = try convlog(["rebuild", "--data-dir", directory.path, "--projection", "window", "--window", "50"])
        #expect(same.status == 0, "\(same.errors)")
        let after = try convlog(["verify", "--data-dir", directory.path, "--projections"])
        #expect(after.status == 0, "\(after.output) \(after.errors)")

        let missing = try convlog(["context", "nope", "--socket", socket])
        #expect(missing.status == 1)
        #expect(missing.errors.contains("code -32001"), "\(missing.errors)")
        let unreachable = try convlog(["sessions", "--socket", directory.appendingPathComponent("none.sock").path])
        #expect(unreachable.status == 1)
        #expect(unreachable.errors.contains("is convlogd running?") && unreachable.errors.contains("none.sock"), "\(unreachable.errors)")
    }
}

@Suite("Benchmark smoke")
struct BenchSmokeTests {
    @Test("convlog-bench run --smoke drives a real daemon and reports every metric")
    func smoke() throws {
        let bench = Process()
        bench.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("convlog-bench")
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString.prefix(8)).json")
        defer { try? FileManager.default.removeItem(at: json) }
        bench.arguments = ["run", "--smoke", "--json", json.path]
        bench.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        bench.standardError = errors
        try bench.run()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bench.waitUntilExit()
        try #require(bench.terminationStatus == 0, "\(errorText)")
        let report = try JSONValue(parsing: Array(try Data(contentsOf: json)))
        guard case .array(let results)? = report.objectValue?["results"] else {
            Issue.record("no results")
            return
        }
        let metrics = results.compactMap { $0.objectValue?["metric"]?.stringValue }
        #expect(metrics.contains { $0.hasPrefix("add, 1 client, durable") })
        #expect(metrics.contains { $0.hasPrefix("getContext (last 5)") })
        for result in results {
            guard case .double(let value)? = result.objectValue?["value"] else { throw TestFailure("no numeric value in \(result)") }
            #expect(value > 0, "\(result)")
        }
    }
}
