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

    /// A log written by a build that stored format 2 and continued by this one (format 3) is one
    /// chain: a record's two forms have the same hash.
    @Test("records stored in format 2 and format 3 form one chain")
    func mixedFormats() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await makeLog(in: directory, count: 12)
            defer { store.close() }
            let before = try store.events(from: 1)
            #expect(before.allSatisfy { $0.formatVersion == EventCodec.formatVersion })
            for sequence in UInt64(1)...6 {
                try tamper(store, sequence: sequence) { bytes in
                    let shared = try! SharedRecord(storedBytes: bytes)
                    bytes = try! SharedRecord.storedBytes(envelope: shared.envelope, payload: shared.payload)
                }
            }
            let after = try store.events(from: 1)
            #expect(after.map(\.formatVersion) == Array(repeating: 2, count: 6) + Array(repeating: EventCodec.formatVersion, count: 6))
            #expect(after.map { [$0.hash, $0.previousHash] } == before.map { [$0.hash, $0.previousHash] })
            #expect(after.map(\.event) == before.map(\.event))
            #expect(try store.verify().failure == nil)
            try tamper(store, sequence: 3) { $0[$0.count - 70] ^= 1 }
            #expect(try store.verify().failure == ChainFailure(sequence: 3, reason: .recordAltered))
        }
    }

    @Test("a record re-hashed after an edit breaks the link of the next one")
    func rehashedRecord() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await makeLog(in: directory, count: 10)
            defer { store.close() }
            try forge(store, sequence: 4)
            #expect(try store.verify().failure == ChainFailure(sequence: 5, reason: .chainBroken))
        }
    }

    /// Edits the payload of the record at `sequence` and restates its hash (which covers the
    /// payload's digest), as a forger would: only the next record's link gives it away.
    private func forge(_ store: EventStore, sequence: UInt64) throws {
        try tamper(store, sequence: sequence) { bytes in
            bytes[bytes.count - 64 - 6 - 1] ^= 0x01
            let forged = bytes.withUnsafeBytes { raw in
                let link = try! ChainLink(raw)
                return link.chainHash(after: link.previousHashBytes)
            }
            bytes.replaceSubrange((bytes.count - 32)..., with: forged.bytes)
        }
    }

    /// How a test spoils a 5,000-record log (verified in one chunk, split across the cores in
    /// stripes of 2,500), and the failure `verify` must report: the first in log order.
    enum Spoiling: Sendable, CustomTestStringConvertible {
        case alter([UInt64]), forge(UInt64), delete(UInt64)

        var testDescription: String {
            switch self {
            case .alter(let sequences): "altered \(sequences)"
            case .forge(let sequence): "forged \(sequence)"
            case .delete(let sequence): "deleted \(sequence)"
            }
        }
    }

    @Test("checked on every core, the first bad record in log order is reported, wherever the stripes split", arguments: [
        (Spoiling.alter([4_000, 3_000]), ChainFailure(sequence: 3_000, reason: .recordAltered)),
        (Spoiling.alter([2_501, 2_500]), ChainFailure(sequence: 2_500, reason: .recordAltered)),
        (Spoiling.forge(2_500), ChainFailure(sequence: 2_501, reason: .chainBroken)),
        (Spoiling.delete(2_501), ChainFailure(sequence: 2_502, reason: .sequenceGap(expected: 2_501, found: 2_502))),
    ])
    func parallelVerification(spoiling: Spoiling, expected: ChainFailure) async throws {
        try await withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory, configuration: .with(durability: .nosync))
            defer { store.close() }
            for batch in 0..<50 {
                _ = try await store.append(AppendRequest(sessionID: "s\(batch % 3)", events: (0..<100).map { message("m\(batch)-\($0)", "text \($0)") }))
            }
            #expect(try store.verify().isIntact)
            switch spoiling {
            case .alter(let sequences):
                for sequence in sequences { try tamper(store, sequence: sequence) { $0[$0.count - 64 - 6 - 1] ^= 0x01 } }
            case .forge(let sequence):
                try forge(store, sequence: sequence)
            case .delete(let sequence):
                try store.environment.write { txn in _ = try txn.delete(store.schema.events, key: LogSchema.sequenceKey(sequence)) }
            }
            let report = try store.verify()
            #expect(report.failure == expected)
            let lastGood: UInt64 = if case .sequenceGap(let missing, _) = expected.reason { missing - 1 } else { expected.sequence - 1 }
            #expect(report.verifiedEvents == lastGood)
            #expect(report.head.sequence == lastGood)
            #expect(report.head.hash == (try store.events(from: lastGood, limit: 1).first?.hash))
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
