import EventLog
import Foundation
import Projections
import Testing
import JSON

/// The result of running the `convlog` binary.
struct CommandResult {
    var status: Int32
    var output: String
    var errors: String
}

/// Runs the built `convlog` with `arguments`, bounded to 60 s.
func convlog(_ arguments: [String]) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("convlog")
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let killer = DispatchWorkItem { process.terminate() }
    DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: killer)
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    killer.cancel()
    return CommandResult(
        status: process.terminationStatus,
        output: String(decoding: outputData, as: UTF8.self),
        errors: String(decoding: errorData, as: UTF8.self)
    )
}

/// A log of 3 sessions: each created, then 10 user/assistant turns, and one context update.
func makeLog(in directory: URL) async throws {
    let views = try ConversationViews.open(directory: directory)
    defer { views.store.close() }
    for session in 0..<3 {
        let id = "s\(session)"
        _ = try await views.store.append(AppendRequest(sessionID: id, expectedVersion: 0, events: [.sessionCreated(SessionCreated(userID: "u\(session)"))]))
        for turn in 0..<10 {
            let role: MessageRole = turn % 2 == 0 ? .user : .assistant
            let message = MessageAdded(messageID: "\(id)-\(turn)", role: role, content: .text("turn \(turn)\nof \(id)"))
            _ = try await views.store.append(AppendRequest(sessionID: id, events: [.messageAdded(message)]))
        }
        _ = try await views.store.append(AppendRequest(sessionID: id, events: [.contextUpdated(ContextUpdated(changes: ["sql": "SELECT 1"], source: .client))]))
    }
}

func withLog<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("convlog-cli-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    try await makeLog(in: directory)
    return try await body(directory)
}

@Suite("convlog CLI")
struct CLITests {
    @Test("replay prints every event in order, in text and in JSON lines")
    func replayAll() async throws {
        try await withLog { directory in
            let text = try convlog(["replay", "--data-dir", directory.path])
            #expect(text.status == 0, "\(text.errors)")
            let lines = text.output.split(separator: "\n")
            #expect(lines.count == 1 + 36)
            #expect(lines[0].hasPrefix("SEQ"))
            #expect(lines[2].contains("user [s0-0]: turn 0\\nof s0"))

            let jsonl = try convlog(["replay", "--data-dir", directory.path, "--format", "jsonl"])
            let records = try jsonl.output.split(separator: "\n").map { try JSONValue(parsing: Array($0.utf8)) }
            #expect(records.count == 36)
            #expect(records.map { $0.objectValue?["sequence"] } == (1...36).map { .integer(Int64($0)) })
            let first = try #require(records[1].objectValue)
            #expect(first["type"] == "MessageAdded")
            #expect(first["data"]?.objectValue?["content"] == "turn 0\nof s0")
            #expect(first["prevHash"] == records[0].objectValue?["hash"])
        }
    }

    @Test("replay filters by session, type, sequence range and time")
    func replayFilters() async throws {
        try await withLog { directory in
            func count(_ filters: [String]) throws -> Int {
                let result = try convlog(["replay", "--data-dir", directory.path, "--format", "jsonl"] + filters)
                #expect(result.status == 0, "\(filters): \(result.errors)")
                return result.output.split(separator: "\n").count
            }
            #expect(try count(["--session", "s1"]) == 12)
            #expect(try count(["--type", "MessageAdded"]) == 30)
            #expect(try count(["--session", "s2", "--type", "ContextUpdated"]) == 1)
            #expect(try count(["--from", "10", "--to", "19"]) == 10)
            #expect(try count(["--since", "2000-01-01T00:00:00Z"]) == 36)
            #expect(try count(["--until", "2000-01-01"]) == 0)
            let bad = try convlog(["replay", "--data-dir", directory.path, "--since", "yesterday"])
            #expect(bad.status == 64 || bad.status == 2)
            #expect(bad.errors.contains("--since"))
        }
    }

    @Test("verify passes on a good log and exits 3 naming the sequence of a tampered one")
    func verifyTampered() async throws {
        try await withLog { directory in
            let good = try convlog(["verify", "--data-dir", directory.path, "--projections"])
            #expect(good.status == 0, "\(good.output) \(good.errors)")
            #expect(good.output.contains("chain: ok, 36 events"))
            #expect(good.output.contains("projection sessions: ok"))
            #expect(good.output.contains("projection window: ok"))

            // Change one byte of the record at sequence 17, bypassing the store.
            let store = try EventStore(directory: directory)
            try store.environment.write { txn in
                let key = withUnsafeBytes(of: UInt64(17).bigEndian) { Array($0) }
                var bytes = Array(try #require(try txn.get(store.schema.events, key: key)))
                bytes[bytes.count - 64 - 8] ^= 0x20
                try txn.put(store.schema.events, key: key, value: bytes)
            }
            store.close()
            let bad = try convlog(["verify", "--data-dir", directory.path])
            #expect(bad.status == 3)
            #expect(bad.output.contains("sequence 17"))
            let replay = try convlog(["replay", "--data-dir", directory.path, "--format", "jsonl"])
            #expect(replay.status == 3)
            #expect(replay.errors.contains("sequence 17"))
            #expect(replay.output.split(separator: "\n").count == 16, "the events before the bad one are printed")
        }
    }

    @Test("replay refuses a session the log does not hold and an unknown type that matches nothing, with a suggestion")
    func replayRefusesTypos() async throws {
        try await withLog { directory in
            let session = try convlog(["replay", "--data-dir", directory.path, "--session", "does-not-exist"])
            #expect(session.status == 1 && session.output.isEmpty)
            #expect(session.errors.contains("no session does-not-exist"), "\(session.errors)")
            let typo = try convlog(["replay", "--data-dir", directory.path, "--type", "MesageAdded"])
            #expect(typo.status == 1)
            #expect(typo.errors.contains("did you mean MessageAdded?"), "\(typo.errors)")
            let known = try convlog(["replay", "--data-dir", directory.path, "--type", "ContextUpdated", "--format", "jsonl"])
            #expect(known.status == 0, "a known type matching nothing is an empty answer: \(known.errors)")
        }
    }

    @Test("a projection built by another version is reported stale (exit 4), not as tampering (exit 3)")
    func staleProjectionIsNotTampering() async throws {
        try await withLog { directory in
            let views = try ConversationViews.open(directory: directory)
            try views.store.environment.write { txn in
                // As an older convlog left it: the sessions rows of format 1.
                try txn.put(views.store.schema.meta, key: Array("fingerprint.sessions".utf8), value: [1])
            }
            views.store.close()
            let result = try convlog(["verify", "--data-dir", directory.path, "--projections"])
            #expect(result.status == 4, "\(result.output) \(result.errors)")
            #expect(result.output.contains("projection sessions: STALE") && !result.output.contains("DIFFERS"), "\(result.output)")
        }
    }

    @Test("rebuild swaps in identical projections and prints events/s")
    func rebuild() async throws {
        try await withLog { directory in
            let before = try convlog(["verify", "--data-dir", directory.path, "--projections"])
            let result = try convlog(["rebuild", "--data-dir", directory.path])
            #expect(result.status == 0, "\(result.errors)")
            #expect(result.output.contains("rebuilt streams, sessions, window, checkpoints, retention: 36 events"))
            #expect(result.output.contains("events/s); 0 rows rewritten, 0 deleted"))
            let after = try convlog(["verify", "--data-dir", directory.path, "--projections"])
            #expect(after.status == 0)
            #expect(after.output == before.output, "digests are bit-identical")

            let resized = try convlog(["rebuild", "--data-dir", directory.path, "--projection", "window", "--window", "3"])
            #expect(resized.status == 0, "\(resized.errors)")
            let stats = try convlog(["stats", "--data-dir", directory.path])
            #expect(stats.output.contains("window:      3 messages"))
        }
    }

    @Test("stats counts events, sessions and types")
    func stats() async throws {
        try await withLog { directory in
            let result = try convlog(["stats", "--data-dir", directory.path])
            #expect(result.status == 0, "\(result.errors)")
            #expect(result.output.contains("events:      36"))
            #expect(result.output.contains("sessions:    3"))
            #expect(result.output.contains("MessageAdded: 30"))
            #expect(result.output.contains("SessionCreated: 3"))
        }
    }

    @Test("a missing or foreign directory is a one-line error, exit 1")
    func errors() throws {
        let missing = try convlog(["replay", "--data-dir", "/nonexistent/convlog"])
        #expect(missing.status == 1)
        #expect(missing.errors.contains("no data directory at /nonexistent/convlog"))
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("convlog-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let notLog = try convlog(["verify", "--data-dir", empty.path])
        #expect(notLog.status == 1)
        #expect(notLog.errors.contains("no event log"))
        let help = try convlog(["replay", "--help"])
        #expect(help.output.contains("Examples:"))
    }
}

@Suite("convlog eval")
struct EvalCommandTests {
    static let cases = [
        #"{"id":"a","dataset":"d","history":[{"role":"user","content":"How many artists start with A-E?"}],"query":"Who are those artists?","is_follow_up":true,"standalone":"Who are the artists that start with A-E?"}"#,
        #"{"id":"b","dataset":"d","history":[{"role":"user","content":"hi"}],"query":"How many employees does Acme Corp have in Germany?","is_follow_up":false}"#,
    ].joined(separator: "\n")

    @Test("eval prints metrics and writes one prediction per case; llm falls back to the rules when the model is unreachable")
    func evalRulesAndFallback() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("eval-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("cases.jsonl")
        try Self.cases.write(to: input, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("predictions.jsonl")

        let rules = try convlog(["eval", "--input", input.path, "--output", output.path])
        #expect(rules.status == 0, "\(rules.errors)")
        #expect(rules.output.contains("overall"))
        let overall = try #require(rules.output.split(separator: "\n").last)
        #expect(overall.split(separator: " ").contains("1.000"), "perfect on these two cases: \(overall)")
        let predictions = try String(contentsOf: output, encoding: .utf8).split(separator: "\n").map { try JSONValue(parsing: Array($0.utf8)) }
        #expect(predictions.map { $0.objectValue?["id"] } == ["a", "b"])
        #expect(predictions[0].objectValue?["standalone"] == "Who are the artists that start with A-E?")

        let llm = try convlog(["eval", "--input", input.path, "--output", output.path, "--method", "llm", "--llm-url", "http://127.0.0.1:1", "--llm-timeout-ms", "500"])
        #expect(llm.status == 0, "\(llm.errors)")
        let fallback = try String(contentsOf: output, encoding: .utf8).split(separator: "\n").map { try JSONValue(parsing: Array($0.utf8)) }
        #expect(fallback[0].objectValue?["standalone"] == "Who are the artists that start with A-E?")
        #expect(try #require(fallback[0].objectValue?["reasons"]?.arrayValue).contains("llm:fallback:transport"))

        let missingURL = try convlog(["eval", "--input", input.path, "--method", "llm"])
        #expect(missingURL.status != 0)
        #expect(missingURL.errors.contains("--llm-url"))
    }
}

/// A test's own failure, thrown where a value has an unexpected shape.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
