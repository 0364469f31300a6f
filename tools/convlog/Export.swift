import ArgumentParser
import EventLog
import Foundation
import JSON
import Projections

/// `convlog export`: the log as warehouse rows, resumable by log sequence.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write messages or sessions as warehouse rows (CSV or JSON lines), resumable by log sequence.",
        discussion: """
            Reads the log directly (safe while the daemon runs). Tables, in the layout of \
            schema/warehouse.sql (PostgreSQL and DuckDB DDL, loading notes): message_history \
            (message_id, session_id, role, content, timestamp, metadata, sequence) and sessions \
            (session_id, created_at, last_updated, user_id, context, sequence). Deleted and expired \
            sessions are left out. Each run exports what the log holds up to its head and prints, \
            on standard error, the --since-sequence to pass next time: a message is in exactly one \
            export; a session is exported again whenever it changed (load it as an upsert).

            Examples:
              convlog export --table message_history --format csv --output messages.csv
              convlog export --table sessions --format jsonl --since-sequence 1200
            """
    )

    /// The tables of the seed system's warehouse layout.
    enum Table: String, ExpressibleByArgument, CaseIterable {
        case messageHistory = "message_history"
        case sessions

        var columns: [String] {
            switch self {
            case .messageHistory: ["message_id", "session_id", "role", "content", "timestamp", "metadata", "sequence"]
            case .sessions: ["session_id", "created_at", "last_updated", "user_id", "context", "sequence"]
            }
        }
    }

    @OptionGroup var log: LogOptions
    @Option(help: "message_history or sessions.") var table: Table
    @Option(help: "csv (RFC 4180, with a header) or jsonl.") var format: RowFormat = .csv
    @Option(name: .customLong("since-sequence"), help: "Only what changed after this log sequence (printed by the previous export).")
    var sinceSequence: UInt64 = 0
    @Option(help: "Write to this file (default: standard output).") var output: String?

    func run() throws {
        let views = try log.openReadOnly()
        defer { views.store.close() }
        let head = try views.store.head().sequence
        var rows = try RowWriter(path: output, format: format, columns: table.columns)
        switch table {
        case .messageHistory:
            // Deleted sessions whose records are not all erased yet: their earlier messages are gone.
            let erasing = try views.store.pendingErasureVersions()
            try views.store.visitEvents(from: sinceSequence + 1) { record in
                guard record.sequence <= head else { return false }
                guard case .messageAdded(let message) = record.event else { return true }
                if let deletion = erasing[record.sessionID], record.sessionVersion < deletion { return true }
                let content = switch message.content {
                case .text(let text): text
                case .json(let value): value.canonicalString
                }
                try rows.write([
                    .string(message.messageID), .string(record.sessionID), .string(message.role.rawValue), .string(content),
                    .string(Timestamp.iso8601(milliseconds: record.timestamp)), .string(JSONValue.object(message.metadata).canonicalString),
                    .integer(Int64(record.sequence)),
                ])
                return true
            }
        case .sessions:
            var cursor: SessionCursor?
            repeat {
                let page = try views.listSessions(limit: 1_000, after: cursor)
                for state in page.sessions where state.lastSequence > sinceSequence && state.lastSequence <= head {
                    try rows.write([
                        .string(state.sessionID), .string(Timestamp.iso8601(milliseconds: state.createdAt)),
                        .string(Timestamp.iso8601(milliseconds: state.lastUpdated)), state.userID.map(JSONValue.string) ?? .null,
                        .string(JSONValue.object(state.context).canonicalString), .integer(Int64(state.lastSequence)),
                    ])
                }
                cursor = page.nextCursor
            } while cursor != nil
        }
        try rows.finish()
        FileHandle.standardError.write(Data("exported \(rows.count) \(table.rawValue) rows through sequence \(head); next time: --since-sequence \(head)\n".utf8))
    }
}

/// How exported rows are written.
enum RowFormat: String, ExpressibleByArgument, CaseIterable {
    case csv, jsonl
}

/// Writes rows as CSV (RFC 4180: a header, every text field quoted, NULL as an empty field) or as
/// JSON lines (one object per row, keyed by column), buffered.
struct RowWriter {
    let format: RowFormat
    let columns: [String]
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private(set) var count = 0

    init(path: String?, format: RowFormat, columns: [String]) throws {
        self.format = format
        self.columns = columns
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
                let handle = FileHandle(forWritingAtPath: path)
            else { throw CLIError("cannot write \(path)") }
            self.handle = handle
        } else {
            handle = FileHandle.standardOutput
        }
        if format == .csv { buffer += Array((columns.joined(separator: ",") + "\r\n").utf8) }
    }

    mutating func write(_ values: [JSONValue]) throws {
        switch format {
        case .csv:
            buffer += Array(values.map(Self.csvField).joined(separator: ",").utf8)
            buffer += Array("\r\n".utf8)
        case .jsonl:
            buffer += JSONValue.object(Dictionary(uniqueKeysWithValues: zip(columns, values))).canonicalBytes
            buffer.append(UInt8(ascii: "\n"))
        }
        count += 1
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func finish() throws {
        flush()
        if handle !== FileHandle.standardOutput { try handle.close() }
    }

    private mutating func flush() {
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    private static func csvField(_ value: JSONValue) -> String {
        switch value {
        case .null: ""
        case .integer(let number): String(number)
        case .string(let text): "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        default: "\"" + value.canonicalString.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
    }
}
