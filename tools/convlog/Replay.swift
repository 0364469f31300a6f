import ArgumentParser
import EventLog
import Foundation
import JSON

/// `convlog replay`: the log as it happened, verified as it is read.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print events in log order, verifying the integrity chain as they are read.",
        discussion: """
            Filters combine (all must hold). The chain is checked over the whole --from/--to range \
            even when other filters hide events; on the first record that is not what was written, \
            replay names its sequence on standard error and exits 3. A --session the log does not \
            hold, or a --type that is not a known type and matches nothing, is an error (exit 1).

            Examples:
              convlog replay --session s-42
              convlog replay --since 2026-11-01 --type MessageAdded --format jsonl > audit.jsonl
            """
    )

    @OptionGroup var log: LogOptions
    @Option(help: "Only this session's events.") var session: String?
    @Option(help: "The first global sequence to read.") var from: UInt64 = 1
    @Option(help: "The last global sequence to read.") var to: UInt64?
    @Option(help: ArgumentHelp("Only events stored at or after this time (ISO 8601).", valueName: "time")) var since: String?
    @Option(help: ArgumentHelp("Only events stored before this time (ISO 8601).", valueName: "time")) var until: String?
    @Option(help: ArgumentHelp("Only events of this type (SessionCreated, MessageAdded, ContextUpdated, …).", valueName: "type"))
    var type: String?
    @Option(help: EventFormat.help) var format: EventFormat = .text

    func validate() throws {
        guard from >= 1 else { throw ValidationError("--from starts at 1") }
        if let to, to < from { throw ValidationError("--to must not be below --from") }
        if let since, Timestamp.milliseconds(iso8601: since) == nil { throw ValidationError("--since is not an ISO 8601 time: \(since)") }
        if let until, Timestamp.milliseconds(iso8601: until) == nil { throw ValidationError("--until is not an ISO 8601 time: \(until)") }
    }

    func run() throws {
        let views = try log.openReadOnly()
        defer { views.store.close() }
        if let session, try views.store.version(ofSession: session) == nil {
            throw CLIError("no session \(session) in \(log.directory.path)")
        }
        var matchedType = false
        let sinceMilliseconds = since.flatMap(Timestamp.milliseconds(iso8601:))
        let untilMilliseconds = until.flatMap(Timestamp.milliseconds(iso8601:))
        var output = BufferedOutput()
        if format == .text { output.write(EventTextFormat.header) }
        let report = try views.store.walkVerified(from: from, through: to ?? .max) { record in
            if let session, record.sessionID != session { return }
            if let type {
                guard record.event.typeName == type else { return }
                matchedType = true
            }
            if let sinceMilliseconds, record.timestamp < sinceMilliseconds { return }
            if let untilMilliseconds, record.timestamp >= untilMilliseconds { return }
            switch format {
            case .text: output.write(EventTextFormat.line(record))
            case .jsonl: output.writeLine { record.appendCanonicalJSON(to: &$0) }
            }
        }
        output.flush()
        if let failure = report.failure {
            printError("integrity failure: \(failure)")
            throw ExitCode.integrityFailure
        }
        if let type, !matchedType, !EventType.known.contains(type) {
            let suggestion = EventType.known.min { Self.distance($0, type) < Self.distance($1, type) }!
            throw CLIError("no event of type \(type) (the known types are \(EventType.known.joined(separator: ", ")); did you mean \(suggestion)?)")
        }
    }

    /// The edit distance between two names, case-insensitively.
    static func distance(_ lhs: String, _ rhs: String) -> Int {
        let left = Array(lhs.lowercased()), right = Array(rhs.lowercased())
        var previous = Array(0...right.count)
        for (i, l) in left.enumerated() {
            var current = [i + 1]
            for (j, r) in right.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (l == r ? 0 : 1)))
            }
            previous = current
        }
        return previous[right.count]
    }
}

/// How `replay` and `tail` print events.
enum EventFormat: String, ExpressibleByArgument, CaseIterable {
    case text, jsonl

    static let help = ArgumentHelp("text (aligned columns) or jsonl (one JSON event per line, schema/events.schema.json).")
}

/// The aligned text form of events.
enum EventTextFormat {
    static let header = pad("SEQ", 8) + pad("TIME (UTC)", 26) + pad("SESSION", 24) + pad("VER", 6) + pad("TYPE", 16) + "DETAILS"

    static func line(_ record: RecordedEvent) -> String {
        line(
            sequence: String(record.sequence), time: Timestamp.iso8601(milliseconds: record.timestamp), session: record.sessionID,
            version: String(record.sessionVersion), type: record.event.typeName, details: details(record.event)
        )
    }

    /// A line of the given columns.
    static func line(sequence: String, time: String, session: String, version: String, type: String, details: String) -> String {
        pad(sequence, 8) + pad(time, 26) + pad(session, 24) + pad(version, 6) + pad(type, 16) + details
    }

    /// A line of an event in its JSON form (`schema/events.schema.json`): messages as in
    /// ``details(_:)``, other events with their data as JSON.
    static func line(json event: JSONValue) -> String {
        let fields = event.objectValue ?? [:]
        let data = fields["data"]?.objectValue ?? [:]
        var details = JSONValue.object(data).canonicalString
        if fields["type"]?.stringValue == EventType.messageAdded, let role = data["role"]?.stringValue, let id = data["messageId"]?.stringValue {
            let content = data["content"].map { $0.stringValue?.replacingOccurrences(of: "\n", with: "\\n") ?? $0.canonicalString } ?? ""
            details = "\(role) [\(id)]: \(content)"
        }
        func text(_ key: String) -> String {
            switch fields[key] {
            case .string(let value)?: value
            case .integer(let value)?: String(value)
            default: "-"
            }
        }
        return line(
            sequence: text("sequence"), time: text("timestamp"), session: text("sessionId"), version: text("sessionVersion"),
            type: text("type"), details: details
        )
    }

    static func details(_ event: Event) -> String {
        switch event {
        case .sessionCreated(let created):
            return "user=\(created.userID ?? "-") metadata=\(JSONValue.object(created.metadata).canonicalString)"
        case .messageAdded(let message):
            let content: String
            switch message.content {
            case .text(let text): content = text.replacingOccurrences(of: "\n", with: "\\n")
            case .json(let value): content = value.canonicalString
            }
            return "\(message.role.rawValue) [\(message.messageID)]: \(content)"
        case .contextUpdated(let update):
            return "\(update.source.rawValue): \(JSONValue.object(update.changes).canonicalString)"
        case .checkpointPut(let put):
            let blobs = put.blobs.map { blob in
                switch blob.value {
                case .bytes(let value): "\(blob.channel)@\(blob.version)=\(value.bytes.count)B"
                case .messages(let versions): "\(blob.channel)@\(blob.version)=\(versions.count) messages"
                }
            }
            return "ns=\(quoted(put.namespace)) id=\(put.checkpointID) parent=\(put.parentID ?? "-") "
                + "metadata=\(JSONValue.object(put.metadata).canonicalString) blobs=[\(blobs.joined(separator: ", "))]"
        case .writesPut(let put):
            let writes = put.writes.map { "\($0.index):\($0.channel)=\($0.value.bytes.count)B" }
            return "ns=\(quoted(put.namespace)) checkpoint=\(put.checkpointID) task=\(put.taskID) writes=[\(writes.joined(separator: ", "))]"
        case .retentionSet(let retention):
            return "expires \(retention.ttlSeconds) s after its last write"
        case .sessionDeleted(let deleted):
            return "session deleted\(deleted.reason.map { " (\($0))" } ?? ""): its earlier events are gone for readers"
        case .checkpointsRemoved(let removed):
            return removed.checkpoints.map { "ns=\(quoted($0.namespace)) id=\($0.checkpointID)" }.joined(separator: ", ")
        case .unrecognized(_, let payload):
            return "(\(payload.count) payload bytes of a type this build does not know)"
        case .erased:
            return "(erased: its session was deleted)"
        }
    }

    private static func quoted(_ text: String) -> String { "\"\(text)\"" }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// Collects lines and writes them to standard output in large blocks.
struct BufferedOutput {
    private var buffer: [UInt8] = []

    mutating func write(_ line: String) {
        writeLine { $0 += line.utf8 }
    }

    /// Writes a line that `body` appends to the buffer.
    mutating func writeLine(_ body: (inout [UInt8]) -> Void) {
        body(&buffer)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
