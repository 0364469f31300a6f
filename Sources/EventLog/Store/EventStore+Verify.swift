import Foundation
import Synchronization

/// What ``EventStore/verify(progress:)`` found.
public struct VerificationReport: Sendable, Hashable {
    /// Records whose hash and link were checked and held.
    public var verifiedEvents: UInt64
    /// The head of the verified chain (the last good record).
    public var head: ChainHead
    /// The first problem, or nil when the whole log verified.
    public var failure: ChainFailure?

    /// True when the whole log verified.
    public var isIntact: Bool { failure == nil }
}

/// The first place where the log is not what was written.
public struct ChainFailure: Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Reason: Sendable, Hashable {
        /// The record's bytes no longer hash to its stored hash: the record was altered.
        case recordAltered
        /// The record's `prevHash` is not the previous record's hash: a record was removed, inserted or reordered.
        case chainBroken
        /// The sequence is not the previous one plus one, or disagrees with its key.
        case sequenceGap(expected: UInt64, found: UInt64)
        /// The record cannot be decoded.
        case undecodable(String)
    }

    /// The sequence of the first bad record.
    public var sequence: UInt64
    public var reason: Reason

    public var description: String {
        switch reason {
        case .recordAltered: "sequence \(sequence): record altered (its hash does not match its bytes)"
        case .chainBroken: "sequence \(sequence): chain broken (prevHash is not the previous record's hash)"
        case .sequenceGap(let expected, let found): "sequence \(sequence): expected sequence \(expected), found \(found)"
        case .undecodable(let why): "sequence \(sequence): undecodable record (\(why))"
        }
    }
}

/// Checks records one after another against the integrity chain.
///
/// Feed it the stored records in key order; it stops at the first failure.
public struct ChainVerifier: Sendable {
    /// The last record that verified.
    public private(set) var head = ChainHead(sequence: 0, hash: .genesis)
    /// How many records verified.
    public private(set) var verifiedEvents: UInt64 = 0
    /// The first failure met, if any.
    public private(set) var failure: ChainFailure?

    public init() {}

    /// A verifier that continues a chain verified through `head`.
    public init(after head: ChainHead) {
        self.head = head
    }

    /// Checks the record stored under `key`, which must also decode; returns it when it holds
    /// (or sets ``failure``).
    @discardableResult
    public mutating func check(key: UnsafeRawBufferPointer, record: UnsafeRawBufferPointer) -> RecordedEvent? {
        var decoded: RecordedEvent?
        return check(key: key, record: record, decoded: &decoded) ? decoded : nil
    }

    /// Checks the stored bytes of the record that should come next (sequence ``head`` + 1, as a
    /// record arriving from elsewhere has no key of its own); returns it when it holds.
    public mutating func check(next record: [UInt8]) -> RecordedEvent? {
        record.withUnsafeBytes { bytes in
            LogSchema.sequenceKey(head.sequence + 1).withUnsafeBytes { key in check(key: key, record: bytes) }
        }
    }

    /// Checks consecutive records (`entries`, in key order, read in one transaction) as
    /// ``check(key:record:)`` would one after another, without decoding payloads, on every core:
    /// each record's hash, sequence and link depend only on itself and the record before it.
    /// Returns how many held; at the first that does not, ``failure`` says why, as the
    /// one-by-one check would.
    public mutating func checkLinks(_ entries: [LMDBEntry]) -> Int {
        guard failure == nil, !entries.isEmpty else { return 0 }
        let stripes = max(1, min(ProcessInfo.processInfo.activeProcessorCount, entries.count / 1_024))
        let first = head.sequence + 1
        let failures = Mutex<[(index: Int, failure: ChainFailure)]>([])
        head.hash.bytes.withUnsafeBytes { startHash in
            let shared = UncheckedSendable((entries, startHash))
            DispatchQueue.concurrentPerform(iterations: stripes) { stripe in
                let (entries, startHash) = shared.value
                for index in entries.count * stripe / stripes..<entries.count * (stripe + 1) / stripes {
                    let previousHash = index == 0 ? startHash : Self.storedHash(of: entries[index - 1].value)
                    if let failure = Self.failure(of: entries[index], expected: first + UInt64(index), previousHash: previousHash) {
                        failures.withLock { $0.append((index, failure)) }
                        return
                    }
                }
            }
        }
        let firstFailure = failures.withLock { $0.min { $0.index < $1.index } }
        let held = firstFailure?.index ?? entries.count
        if held > 0 {
            head = ChainHead(sequence: first + UInt64(held) - 1, hash: EventHash(bytes: Array(Self.storedHash(of: entries[held - 1].value))))
            verifiedEvents += UInt64(held)
        }
        failure = firstFailure?.failure
        return held
    }

    /// The last 32 bytes of a record (its stored hash), or empty when it is too short.
    private static func storedHash(of record: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        record.count >= EventCodec.trailerSize ? UnsafeRawBufferPointer(rebasing: record[(record.count - 32)...]) : UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// Why the record of `entry` breaks the chain, checked in the order of ``check(key:record:decoded:)``.
    private static func failure(of entry: LMDBEntry, expected: UInt64, previousHash: UnsafeRawBufferPointer) -> ChainFailure? {
        let keySequence = entry.key.count == 8 ? LogSchema.readUInt64(entry.key) : 0
        do {
            let link = try ChainLink(entry.value)
            guard let recordSequence = link.sequence else { throw RecordDecodingError.truncated(at: entry.value.count) }
            if keySequence != expected || recordSequence != expected {
                return ChainFailure(sequence: keySequence, reason: .sequenceGap(expected: expected, found: recordSequence))
            }
            if !link.hashHolds { return ChainFailure(sequence: keySequence, reason: .recordAltered) }
            guard previousHash.count == 32, memcmp(previousHash.baseAddress!, link.previousHashBytes.baseAddress!, 32) == 0 else {
                return ChainFailure(sequence: keySequence, reason: .chainBroken)
            }
            return nil
        } catch {
            return ChainFailure(sequence: keySequence, reason: .undecodable("\(error)"))
        }
    }

    private mutating func check(key: UnsafeRawBufferPointer, record: UnsafeRawBufferPointer, decoded: inout RecordedEvent?) -> Bool {
        guard failure == nil else { return false }
        let keySequence = key.count == 8 ? LogSchema.readUInt64(key) : 0
        let expected = head.sequence + 1
        do {
            let link = try ChainLink(record)
            guard let recordSequence = link.sequence else { throw RecordDecodingError.truncated(at: record.count) }
            if keySequence != expected || recordSequence != expected {
                failure = ChainFailure(sequence: keySequence, reason: .sequenceGap(expected: expected, found: recordSequence))
            } else if !link.hashHolds {
                failure = ChainFailure(sequence: keySequence, reason: .recordAltered)
            } else if !head.hash.matches(link.previousHashBytes) {
                failure = ChainFailure(sequence: keySequence, reason: .chainBroken)
            } else {
                decoded = try EventCodec.decodeRecord(record)
                head = ChainHead(sequence: expected, hash: link.storedHash)
                verifiedEvents += 1
                return true
            }
        } catch {
            failure = ChainFailure(sequence: keySequence, reason: .undecodable("\(error)"))
        }
        return false
    }

    /// Checks a record's own hash only, to start a walk after it; nil (and ``failure`` set) when altered.
    public mutating func checkAnchor(key: UnsafeRawBufferPointer, record: UnsafeRawBufferPointer) -> ChainHead? {
        let sequence = key.count == 8 ? LogSchema.readUInt64(key) : 0
        guard let link = try? ChainLink(record), link.hashHolds, link.sequence == sequence else {
            failure = ChainFailure(sequence: sequence, reason: .recordAltered)
            return nil
        }
        head = ChainHead(sequence: sequence, hash: link.storedHash)
        return head
    }
}

extension EventStore {
    /// Walks the whole log, recomputing every hash and link, and reports the first record that is
    /// not what was written. Reads in snapshots of `chunk` records, so the writer is never held up.
    /// - Parameter progress: called after each chunk with the number of records verified so far.
    ///
    /// It checks hashes, links and sequences; it does not decode payloads (`replay` and `rebuild` do).
    public func verify(chunk: Int = 50_000, progress: (UInt64) -> Void = { _ in }) throws -> VerificationReport {
        try walk(from: 1, through: .max, chunk: chunk, progress: progress, body: nil)
    }

    /// Calls `body` with each record from `start` through `end`, in log order, checking the chain
    /// as it goes (from the record before `start`, whose own hash is checked too). Stops at the
    /// first record that is not what was written and reports it; `body` never sees that record.
    public func walkVerified(
        from start: UInt64 = 1,
        through end: UInt64 = .max,
        chunk: Int = 50_000,
        progress: (UInt64) -> Void = { _ in },
        _ body: (RecordedEvent) throws -> Void
    ) throws -> VerificationReport {
        try withoutActuallyEscaping(body) { body in
            try walk(from: start, through: end, chunk: chunk, progress: progress, body: body)
        }
    }

    /// ``walkVerified(from:through:chunk:progress:_:)``, decoding the records only when there is a body.
    private func walk(
        from start: UInt64,
        through end: UInt64,
        chunk: Int,
        progress: (UInt64) -> Void,
        body: ((RecordedEvent) throws -> Void)?
    ) throws -> VerificationReport {
        var verifier = ChainVerifier()
        if start > 1 {
            // Anchor the walk on the record before `start`, after checking its own hash.
            let anchorKey = LogSchema.sequenceKey(start - 1)
            let anchorExists = try environment.read { txn -> Bool in
                guard let record = try txn.get(schema.events, key: anchorKey) else { return false }
                _ = anchorKey.withUnsafeBytes { verifier.checkAnchor(key: $0, record: record) }
                return true
            }
            if !anchorExists {
                let lastSequence = try head().sequence
                let gap = lastSequence >= start ? ChainFailure(sequence: start - 1, reason: .sequenceGap(expected: start - 1, found: start)) : nil
                return VerificationReport(verifiedEvents: 0, head: verifier.head, failure: gap)
            }
            if let failure = verifier.failure {
                return VerificationReport(verifiedEvents: 0, head: verifier.head, failure: failure)
            }
        }
        while true {
            let first = verifier.head.sequence + 1
            let checkedInChunk = try environment.read { txn in
                try txn.withCursor(schema.events) { cursor in
                    var checked = 0
                    var entry = try cursor.seek(atOrAfter: LogSchema.sequenceKey(first))
                    guard let body else {
                        // Without a body, the records' own hashes (the bulk of the work) are
                        // checked in parallel; links and sequences then in order, as below.
                        var entries: [LMDBEntry] = []
                        while let current = entry, entries.count < chunk, LogSchema.readUInt64(current.key) <= end {
                            entries.append(current)
                            entry = try cursor.next()
                        }
                        return verifier.checkLinks(entries)
                    }
                    while let current = entry, checked < chunk, LogSchema.readUInt64(current.key) <= end {
                        guard let record = verifier.check(key: current.key, record: current.value) else { break }
                        try body(record)
                        checked += 1
                        entry = try cursor.next()
                    }
                    return checked
                }
            }
            progress(verifier.verifiedEvents)
            if checkedInChunk < chunk || verifier.failure != nil || verifier.head.sequence >= end {
                return VerificationReport(verifiedEvents: verifier.verifiedEvents, head: verifier.head, failure: verifier.failure)
            }
        }
    }
}

/// A value handed to concurrent work that only reads it, or touches disjoint parts of it.
struct UncheckedSendable<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
