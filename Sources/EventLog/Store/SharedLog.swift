import Foundation

/// A log of record shared by many stores — PostgreSQL for a fleet of daemons — that a store
/// mirrors locally.
///
/// A store opened with a shared log (``EventStore/Configuration/sharedLog``) keeps its LMDB
/// environment as a mirror of it: the same records, byte for byte, and the read models folded
/// from them. The shared log assigns the global order. Each group commit of the store's writer
/// runs as one ``SharedLogUnit`` that holds the shared log's append lock: it first brings the
/// mirror up to the shared head (so idempotency, version and precondition checks see every
/// store's appends), then appends the batch's records to the shared log and commits there before
/// anything is answered. An append is acknowledged once the shared log committed it; the mirror
/// can always be rebuilt from the shared log.
public protocol SharedLog: Sendable {
    /// Starts a unit of work. With `appending`, the unit holds the shared log's append lock until
    /// it ends, so its ``SharedLogUnit/head`` stays the last record until it commits; without,
    /// it only reads (a read barrier).
    /// - Throws: ``SharedLogError`` when the shared log cannot be reached.
    func begin(appending: Bool) throws -> any SharedLogUnit

    /// A short description for messages (no secrets), such as `postgres://db.internal:5432/convlog`.
    var location: String { get }

    /// Releases the connections.
    func close()
}

/// One unit of work on a ``SharedLog``: read its head and the records after a position, then,
/// for an appending unit, append records and commit. A unit is used by one thread and ended once.
public protocol SharedLogUnit: AnyObject {
    /// The last record of the shared log when the unit began.
    var head: ChainHead { get }

    /// Up to `limit` stored records after `sequence` (at most through ``head``), in order, as
    /// stored bytes (a record whose payload was erased comes without it).
    func records(after sequence: UInt64, limit: Int) throws -> [[UInt8]]

    /// Appends `records` (which directly follow ``head``) and commits the unit. The records of a
    /// session deletion erase the payloads of the session's earlier records in the same commit.
    /// - Throws: ``SharedLogError``; when it throws, nothing of the unit was committed, unless the
    ///   error says the outcome is unknown.
    func commit(appending records: [SharedRecord]) throws

    /// Ends the unit; an uncommitted unit is rolled back. Safe to call after ``commit(appending:)``.
    func end()
}

/// A record for a shared log: its stored bytes split where the shared log keeps them apart (the
/// envelope without the payload, and the payload, so that erasure only removes payloads), and
/// the fields a shared log indexes.
public struct SharedRecord: Sendable {
    /// The decoded record.
    public let event: RecordedEvent
    /// The record as stored without its payload: what an erased record is, byte for byte.
    public let envelope: [UInt8]
    /// The payload, or nil when the record has none stored (erased, or format 1 whose payload is
    /// inside the envelope).
    public let payload: [UInt8]?

    /// Splits stored record bytes.
    /// - Throws: ``RecordDecodingError`` when they are not a record.
    public init(storedBytes bytes: [UInt8]) throws {
        event = try bytes.withUnsafeBytes { try EventCodec.decodeRecord($0) }
        let parts = try bytes.withUnsafeBytes { raw -> (envelope: [UInt8], payload: [UInt8])? in
            let link = try ChainLink(raw)
            guard link.formatVersion >= 2, !link.payload.isEmpty else { return nil }
            return (Array(link.canonical) + Array(link.previousHashBytes) + Array(link.storedHashBytes), Array(link.payload))
        }
        envelope = parts?.envelope ?? bytes
        payload = parts?.payload
    }

    /// Joins an envelope and its payload (nil: none stored) back into stored record bytes.
    public static func storedBytes(envelope: [UInt8], payload: [UInt8]?) throws -> [UInt8] {
        guard let payload, !payload.isEmpty else { return envelope }
        guard envelope.count > EventCodec.trailerSize else { throw RecordDecodingError.truncated(at: envelope.count) }
        let split = envelope.count - EventCodec.trailerSize
        return Array(envelope[..<split]) + payload + Array(envelope[split...])
    }
}

/// A failure of the shared log: unreachable, refused, or a commit whose outcome is unknown.
public struct SharedLogError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for messages and logs (no secrets).
    public var message: String
    /// Whether a commit may have taken effect although it failed (the connection was lost while
    /// it was being committed): the mirror catches up on the next unit either way.
    public var outcomeUnknown: Bool

    public init(_ message: String, outcomeUnknown: Bool = false) {
        self.message = message
        self.outcomeUnknown = outcomeUnknown
    }

    public var description: String { message }
}
