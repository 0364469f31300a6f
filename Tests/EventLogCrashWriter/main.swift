// The child process of the crash-safety test (Tests/EventLogTests/CrashSafetyTests.swift).
//
// Usage: EventLogCrashWriter DATA_DIR
// Opens the event log in DATA_DIR (fsync durability) and appends messages from four concurrent
// tasks until it is killed. After each append is acknowledged it writes one line to standard
// output, unbuffered: "SEQUENCE SESSION VERSION MESSAGE_ID".
import EventLog
import Foundation

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: EventLogCrashWriter DATA_DIR\n".utf8))
    exit(2)
}
let store = try EventStore(directory: URL(fileURLWithPath: CommandLine.arguments[1]))

func report(_ position: EventPosition, messageID: String) {
    let line = Array("\(position.sequence) \(position.sessionID) \(position.sessionVersion) \(messageID)\n".utf8)
    line.withUnsafeBytes { bytes in _ = write(STDOUT_FILENO, bytes.baseAddress, bytes.count) }
}

try await withThrowingTaskGroup(of: Void.self) { group in
    for writer in 0..<4 {
        group.addTask {
            let sessionID = "crash-\(writer)"
            while true {
                let messageID = UUID().uuidString
                let text = String(repeating: "x", count: Int.random(in: 10...2_000))
                let message = MessageAdded(messageID: messageID, role: .user, content: .text(text))
                let result = try await store.append(AppendRequest(sessionID: sessionID, events: [.messageAdded(message)]))
                report(result.positions[0], messageID: messageID)
            }
        }
    }
    try await group.waitForAll()
}
