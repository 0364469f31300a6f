import ArgumentParser
import EventLog
import FollowUp
import Foundation
import Projections

/// `convlog-bench`: measures convlog on this machine.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convlog-bench",
        abstract: "Measure convlog on this machine.",
        subcommands: [RunBench.self, AppendBench.self, Populate.self, AnalyzeBench.self, DispatchBench.self],
        defaultSubcommand: RunBench.self
    )
}

/// Appends to a fresh event log in a temporary directory and reports appends per second.
struct AppendBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append throughput of the event log itself, without the daemon.",
        discussion: """
            One writer task appends `--count` messages of `--bytes` bytes, `--batch` per append \
            request (so one commit holds at least that many). Prints one line per run and the median.

            Example: convlog-bench append --batch 64 --count 20000 --durability fsync --runs 3
            """
    )

    @Option(help: "Messages per append request.") var batch = 1
    @Option(help: "Messages in all, per run.") var count = 2_000
    @Option(help: "Text bytes per message.") var bytes = 200
    @Option(help: "fsync or nosync.") var durability = "fsync"
    @Option(help: "Runs; the median is reported.") var runs = 3

    func validate() throws {
        guard EventStore.Durability(rawValue: durability) != nil else {
            throw ValidationError("--durability must be fsync or nosync")
        }
        guard batch >= 1, count >= batch, runs >= 1 else { throw ValidationError("need --batch ≥ 1, --count ≥ --batch, --runs ≥ 1") }
    }

    func run() async throws {
        var rates: [Double] = []
        for run in 1...runs {
            let rate = try await measureOnce()
            rates.append(rate)
            print(String(format: "run %d: %.0f messages/s (batch %d, %@)", run, rate, batch, durability))
        }
        let median = rates.sorted()[rates.count / 2]
        print(String(format: "median: %.0f messages/s", median))
    }

    private func measureOnce() async throws -> Double {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("convlog-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = EventStore.Configuration()
        configuration.durability = EventStore.Durability(rawValue: durability)!
        let store = try EventStore(directory: directory, configuration: configuration)
        defer { store.close() }
        let text = String(repeating: "a", count: bytes)
        let start = ContinuousClock.now
        var written = 0
        while written < count {
            let events = (0..<batch).map { index in
                Event.messageAdded(MessageAdded(messageID: "m\(written + index)", role: .user, content: .text(text)))
            }
            _ = try await store.append(AppendRequest(sessionID: "bench-\(written % 100)", events: events))
            written += batch
        }
        let elapsed = ContinuousClock.now - start
        return Double(written) / (Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
    }
}

/// Fills a data directory with a synthetic conversation log, for rebuild and start-up measurements.
struct Populate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic log: sessions of alternating user/assistant messages, interleaved.",
        discussion: "Example: convlog-bench populate --data-dir /tmp/log1m --sessions 50000 --messages 19"
    )

    @Option(name: .customLong("data-dir"), help: "Where to write the log (created; must not hold a log).") var dataDirectory: String
    @Option(help: "Sessions.") var sessions = 2_000
    @Option(help: "Messages per session (each session also has a SessionCreated event).") var messages = 20
    @Option(help: "Text bytes per message.") var bytes = 200

    func run() async throws {
        let directory = URL(fileURLWithPath: dataDirectory)
        var configuration = EventStore.Configuration()
        configuration.durability = .nosync
        let views = try ConversationViews.open(directory: directory, configuration: configuration)
        defer { views.store.close() }
        guard try views.store.counts().events == 0 else { throw ValidationError("\(dataDirectory) already holds a log") }
        let text = String(repeating: "x", count: bytes)
        let start = ContinuousClock.now
        let workers = 8
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    for round in 0...messages {
                        for session in stride(from: worker, to: sessions, by: workers) {
                            let id = "session-\(session)"
                            let event: Event = round == 0
                                ? .sessionCreated(SessionCreated(userID: "user-\(session % 100)"))
                                : .messageAdded(MessageAdded(messageID: "m\(round)", role: round % 2 == 1 ? .user : .assistant, content: .text(text)))
                            _ = try await views.store.append(AppendRequest(sessionID: id, events: [event]))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        print("wrote \(try views.store.counts().events) events in \(elapsed)")
    }
}

/// Latency of the rule-based follow-up analysis, in process.
struct AnalyzeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Follow-up analysis latency (rules) for a 6-turn history: p50, p90, p99.",
        discussion: "Example: convlog-bench analyze --iterations 20000"
    )

    @Option(help: "Analyses to time.") var iterations = 20_000

    func run() {
        let history = [
            ConversationTurn(speaker: .user, text: "What was the click rate in Spain last month?"),
            ConversationTurn(speaker: .assistant, text: "The click rate in Spain was 4.2% last month, up from 3.9%."),
            ConversationTurn(speaker: .user, text: "How many artists start with A-E?"),
            ConversationTurn(speaker: .assistant, text: "There are 86 artists whose names start with A to E."),
            ConversationTurn(speaker: .user, text: "Which of them released an album in 2019?"),
            ConversationTurn(speaker: .assistant, text: "Twelve of them did, most of them on independent labels."),
        ]
        let queries = ["Who are those artists?", "What about in the US?", "How many employees does Acme Corp have in Germany?", "and last week?"]
        let analyzer = FollowUpAnalyzer()
        var samples: [Double] = []
        samples.reserveCapacity(iterations)
        for index in 0..<iterations {
            let start = ContinuousClock.now
            let analysis = analyzer.analyze(query: queries[index % queries.count], history: history)
            let elapsed = ContinuousClock.now - start
            precondition(!analysis.standaloneQuery.isEmpty)
            samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
        }
        samples.sort()
        func percentile(_ fraction: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * fraction))] }
        print(String(format: "analyze (rules, 6-turn history): p50 %.1f µs, p90 %.1f µs, p99 %.1f µs over %d analyses", percentile(0.5), percentile(0.9), percentile(0.99), iterations))
    }
}
