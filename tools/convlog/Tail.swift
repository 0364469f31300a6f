import ArgumentParser
import ConvLogClient
import EventLog
import Foundation
import JSON
import JSONRPC

/// `convlog tail`: the log's events from the daemon, then, with -f, each new one as it commits.
struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the log's latest events, and with -f each new one as it commits (from the daemon).",
        discussion: """
            Subscribes to convlogd (the `subscribe` method): prints the events from the start \
            sequence up to the end of the log, then exits, or with -f keeps printing events as \
            their commits become durable, until interrupted. Without --from it starts with the \
            last --lines events of the log (with --session: the session's whole history). Filters \
            combine. If the daemon ends the subscription because this reader fell behind, or goes \
            away (a restart), -f subscribes again from the first event not printed (nothing is \
            skipped or repeated) and says so on standard error.

            Examples:
              convlog tail -f
              convlog tail -f --session chat-1 --type MessageAdded --format jsonl | jq .data.content
            """
    )

    @OptionGroup var connection: SocketOptions
    @Flag(name: [.short, .customLong("follow")], help: "Keep printing events as they commit.") var follow = false
    @Option(help: "Only this session's events.") var session: String?
    @Option(name: .customLong("type"), help: ArgumentHelp("Only events of this type (repeat for several).", valueName: "type"))
    var types: [String] = []
    @Option(help: "The first global sequence to print.") var from: UInt64?
    @Option(name: [.customShort("n"), .customLong("lines")], help: "Without --from: start with this many of the log's last events.") var lines: UInt64 = 10
    @Option(help: EventFormat.help) var format: EventFormat = .text

    func validate() throws {
        if let from, from < 1 { throw ValidationError("--from starts at 1") }
    }

    func run() async throws {
        var client = try connection.connect()
        var next = try await startSequence(client)
        var output = BufferedOutput()
        if format == .text { output.write(EventTextFormat.header) }
        while true {
            do {
                let subscription = try await subscribe(client, from: next)
                let ended = try await print(subscription, from: client, into: &output, next: &next)
                output.flush()
                switch ended {
                case .caughtUp:
                    return
                case .resume(let reason):
                    printError("\(reason); following again from sequence \(next)")
                }
            } catch let error as ConvLogClient.TransportError where follow {
                output.flush()
                printError("lost convlogd (\(error)); following again from sequence \(next) once it is back")
                client = try await reconnect()
            }
        }
    }

    private enum Ending {
        /// Everything up to the end of the log was printed (without -f).
        case caughtUp
        /// The daemon ended the subscription (the reason); go on from the next sequence.
        case resume(String)
    }

    /// A new connection, tried again and again (up to every 2 s) until the daemon answers.
    private func reconnect() async throws -> ConvLogClient {
        var delay = Duration.milliseconds(100)
        while true {
            try await Task.sleep(for: delay)
            if let client = try? connection.connect() { return client }
            delay = min(delay * 2, .seconds(2))
        }
    }

    private func startSequence(_ client: ConvLogClient) async throws -> UInt64 {
        if let from { return from }
        if session != nil { return 1 }
        let stats = try await connection.call(client, "stats", [:])
        let head = UInt64(stats.objectValue?["headSequence"]?.integerValue ?? 0)
        return head >= lines ? head - lines + 1 : 1
    }

    private func subscribe(_ client: ConvLogClient, from start: UInt64) async throws -> String {
        let result = try await connection.call(client, "subscribe", [
            "fromSequence": .integer(Int64(start)),
            "sessionId": session.map(JSONValue.string),
            "types": types.isEmpty ? nil : .array(types.map(JSONValue.string)),
        ])
        guard let id = result.objectValue?["subscription"]?.stringValue else { throw CLIError("subscribe answered without a subscription id") }
        return id
    }

    /// Prints the subscription's events until it catches up (without -f) or the daemon ends it;
    /// `next` follows the sequence after the last event printed.
    private func print(_ subscription: String, from client: ConvLogClient, into output: inout BufferedOutput, next: inout UInt64) async throws -> Ending {
        while true {
            guard let notification = try await client.nextNotification() else {
                output.flush()
                continue
            }
            let params = notification.params?.objectValue ?? [:]
            guard params["subscription"]?.stringValue == subscription else { continue }
            switch notification.method {
            case "event":
                guard let event = params["event"] else { continue }
                if let sequence = event.objectValue?["sequence"]?.integerValue { next = UInt64(sequence) + 1 }
                switch format {
                case .text: output.write(EventTextFormat.line(json: event))
                case .jsonl: output.write(event.canonicalString)
                }
            case "caughtUp":
                output.flush()
                if !follow { return .caughtUp }
            case "subscriptionEnded":
                output.flush()
                let error = params["error"]?.objectValue ?? [:]
                let message = error["message"]?.stringValue ?? "the daemon ended the subscription"
                let code = error["code"]?.integerValue.map(Int.init)
                if follow, code == RPCError.subscriberTooSlowCode || code == RPCError.shuttingDownCode {
                    return .resume(message)
                }
                throw CLIError("the daemon ended the subscription: \(message)")
            default:
                continue
            }
            if follow { output.flush() }
        }
    }
}
