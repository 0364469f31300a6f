import Crypto
import Foundation
import Testing

@testable import EventLog

@Suite("Chain verification")
struct VerificationTests {
    /// A log of `count` messages across three sessions.
    private func makeLog(in directory: URL, count: Int) async throws -> EventStore {
        let store = try EventStore(directory: directory, configuration: .with(durability: .nosync))
        for index in 0..<count {
            _ = try await store.append(AppendRequest(sessionID: "s\(index % 3)", events: [message("m\(index)", "text \(index)")]))
        }
        return store
    }

    /// Rewrites the stored bytes of the record at `sequence` through raw LMDB, bypassing the store.
    private func tamper(_ store: EventStore, sequence: UInt64, _ change: (inout [UInt8]) -> Void) throws {
        try store.environment.write { txn in
            let key = LogSchema.sequenceKey(sequence)
            var bytes = Array(try #require(try txn.get(store.schema.events, key: key)))
            change(&bytes)
            try txn.put(store.schema.events, key: key, value: bytes)
        }
    }

    @Test("an untouched log verifies")
    func intactLog() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await makeLog(in: directory, count: 120)
            defer { store.close() }
            var progressCalls = 0
            let report = try store.verify(chunk: 50) { _ in progressCalls += 1 }
            #expect(report.isIntact)
            #expect(report.verifiedEvents == 120)
            #expect(report.head == (try store.head()))
            #expect(progressCalls == 3)
        }
    }

    @Test("one changed payload byte is named by its sequence", arguments: [1, 37, 120])
    func alteredPayload(sequence: UInt64) async throws {
        try await withTemporaryDirectory { directory in
            let store = try await makeLog(in: directory, count: 120)
            defer { store.close() }
            try tamper(store, sequence: sequence) { bytes in
                // The text's last character sits just before the metadata ("{}", after a 4-byte length) and the 64-byte trailer.
                bytes[bytes.count - 64 - 6 - 1] ^= 0x01
            }
            let report = try store.verify(chunk: 50)
            #expect(report.failure == ChainFailure(sequence: sequence, reason: .recordAltered))
            #expect(report.verifiedEvents == sequence - 1)
        }
    }

    @Test("a record re-hashed after an edit breaks the link of the next one")
    func rehashedRecord() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await makeLog(in: directory, count: 10)
            defer { store.close() }
            try tamper(store, sequence: 4) { bytes in
                bytes[bytes.count - 64 - 6 - 1] ^= 0x01
                // A forger also restates the payload's digest in the canonical bytes...
                let (digestStart, digest) = bytes.withUnsafeBytes { raw in
                    let link = try! ChainLink(raw)
                    return (link.canonical.count - 32, Array(SHA256.hash(data: link.payload)))
                }
                bytes.replaceSubrange(digestStart..<digestStart + 32, with: digest)
                // ...and re-hashes the record: only the next record's link gives it away.
                let forged = bytes.withUnsafeBytes { raw in
                    let link = try! ChainLink(raw)
                    return EventHash.chaining(link.previousHashBytes, link.canonical)
                }
                bytes.replaceSubrange((bytes.count - 32)..., with: forged.bytes)
            }
            #expect(try store.verify().failure == ChainFailure(sequence: 5, reason: .chainBroken))
        }
    }

    @Test("a deleted record is a gap at its sequence")
    func deletedRecord() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await makeLog(in: directory, count: 10)
            defer { store.close() }
            try store.environment.write { txn in _ = try txn.delete(store.schema.events, key: LogSchema.sequenceKey(6)) }
            let failure = try #require(try store.verify().failure)
            #expect(failure.sequence == 7)
            #expect(failure.reason == .sequenceGap(expected: 6, found: 7))
        }
    }

    @Test("a truncated record is undecodable")
    func truncatedRecord() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await makeLog(in: directory, count: 3)
            defer { store.close() }
            try tamper(store, sequence: 2) { bytes in bytes = Array(bytes.prefix(5)) }
            let failure = try #require(try store.verify().failure)
            #expect(failure.sequence == 2)
            guard case .undecodable = failure.reason else {
                Issue.record("expected undecodable, got \(failure)")
                return
            }
        }
    }
}
