import Foundation
import Testing

@testable import EventLog

@Suite("Crash safety")
struct CrashSafetyTests {
    /// One acknowledged append, as the child process reported it.
    struct Acknowledgement: Hashable {
        var sequence: UInt64
        var sessionID: String
        var sessionVersion: UInt64
        var messageID: String

        init?(line: Substring) {
            let fields = line.split(separator: " ")
            guard fields.count == 4, let sequence = UInt64(fields[0]), let version = UInt64(fields[2]) else { return nil }
            self.sequence = sequence
            self.sessionID = String(fields[1])
            self.sessionVersion = version
            self.messageID = String(fields[3])
        }
    }

    @Test("SIGKILL at random moments never loses an acknowledged append nor breaks the chain")
    func killedWriterLosesNothingAcknowledged() async throws {
        try await withTemporaryDirectory { directory in
            var generator = SystemRandomNumberGenerator()
            var acknowledged: [Acknowledgement] = []
            for cycle in 0..<20 {
                let output = try runAndKill(dataDirectory: directory, after: .milliseconds(Int.random(in: 30...400, using: &generator)))
                let lines = output.split(separator: "\n", omittingEmptySubsequences: true)
                // The last line may have been cut by the kill: only whole lines count.
                let whole = output.hasSuffix("\n") ? lines : lines.dropLast()
                let cycleAcks = whole.compactMap(Acknowledgement.init(line:))
                #expect(cycleAcks.count == whole.count, "cycle \(cycle): unparsable output")
                acknowledged += cycleAcks
                // Killed before it created the log (a slow start): nothing was acknowledged, nothing to check.
                if cycleAcks.isEmpty, !FileManager.default.fileExists(atPath: directory.appendingPathComponent("data.mdb").path) { continue }

                var readOnly = EventStore.Configuration()
                readOnly.readOnly = true
                let store = try EventStore(directory: directory, configuration: readOnly)
                defer { store.close() }
                let report = try store.verify()
                #expect(report.isIntact, "cycle \(cycle): \(report.failure.map(String.init(describing:)) ?? "")")
                for ack in cycleAcks {
                    let record = try #require(try store.event(at: ack.sequence), "cycle \(cycle): sequence \(ack.sequence) lost")
                    #expect(record.sessionID == ack.sessionID)
                    #expect(record.sessionVersion == ack.sessionVersion)
                    #expect(messageID(of: record) == ack.messageID)
                }
                for (session, records) in Dictionary(grouping: try store.events(), by: \.sessionID) {
                    #expect(records.map(\.sessionVersion) == Array(1...UInt64(records.count)), "cycle \(cycle): \(session)")
                }
            }
            #expect(acknowledged.count > 20, "the child should have acknowledged appends in most cycles")
            #expect(Set(acknowledged.map(\.sequence)).count == acknowledged.count)
        }
    }

    /// Starts the crash writer on `dataDirectory`, kills it with SIGKILL after `delay`, and returns its output.
    private func runAndKill(dataDirectory: URL, after delay: Duration) throws -> String {
        let process = Process()
        process.executableURL = builtExecutable(named: "EventLogCrashWriter")
        process.arguments = [dataDirectory.path]
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let milliseconds = delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000
        usleep(useconds_t(milliseconds * 1000))
        kill(process.processIdentifier, SIGKILL)
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the writer should still be running when killed")
        return String(decoding: output, as: UTF8.self)
    }
}
