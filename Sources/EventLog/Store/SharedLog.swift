import Foundation

/// A log of record shared by many stores — PostgreSQL for a fleet of daemons — that a store
/// mirrors locally.
///
/// A store opened with a shared log (``EventStore/Configuration/sharedLog``) keeps its LMDB
/// environment as a mirror of it: the same records, byte for byte, and the read models folded
/// from them. The shared log is the one chain of the fleet, and it assigns its order: the writer
/// builds a group commit on its mirror's head and ``append(_:builtOn:onlyThere:)`` places it
/// after the shared log's head, wherever that is by then, chaining it there. The checks the
/// writer made on its mirror still hold, because they only concern the sessions appended to, and
/// a session's versions are unique in the shared log: when another store appended to one of them
/// first, nothing is written, the writer copies the records it lacks
/// (``records(after:limit:)``) and builds the commit again. An append is acknowledged once the
/// shared log committed it durably; mirrors take only durable records. The mirror can always be
/// rebuilt from it.
public protocol SharedLog: Sendable {
    /// The last durable record of the shared log (sequence 0 and ``EventHash/genesis`` when
    /// empty): every acknowledged append is at or before it. Records may follow it that are not
    /// known durable yet; a mirror must not take them.
    /// - Throws: ``SharedLogError``.
    func head() throws -> ChainHead

    /// Up to `limit` durable records after `sequence` (through ``head()``), in order, as stored
    /// bytes (a record whose payload was erased comes without it).
    /// - Throws: ``SharedLogError``.
    func records(after sequence: UInt64, limit: Int) throws -> [[UInt8]]

    /// Appends `records`, built to follow `head`, in one transaction, placed after the shared
    /// log's head: each gets the next sequence and is chained on the record before it. When no
    /// other store appended since `head`, they are stored exactly as given. The records of a
    /// session deletion erase the payloads of the session's earlier records in the same
    /// transaction.
    /// - Parameter onlyThere: write nothing unless the shared log still ends at `head` (a copy
    ///   that must keep its records as they are).
    /// - Returns: where the records were placed; nil when nothing was written: a version of one
    ///   of their sessions is already stored (another store appended to it first), or, with
    ///   `onlyThere`, the shared log moved on.
    /// - Throws: ``SharedLogError``; nothing was written, unless it says the outcome is unknown.
    func append(_ records: [SharedRecord], builtOn head: ChainHead, onlyThere: Bool) throws -> SharedPlacement?

    /// Takes the shared log's append lock until ``releaseReservation()``, and makes every stored
    /// record durable (``head()`` then ends where the log does): other stores' appends wait
    /// meanwhile, so this store's next append, built on a mirror that took every record, cannot
    /// be outdated. For a store whose append was outdated, so that it does not lose again and again.
    /// - Throws: ``SharedLogError``.
    func reserve() throws

    /// Gives up the append lock (nothing to do when it is not held).
    func releaseReservation()

    /// A short description for messages (no secrets), such as `postgres://convlog@db.internal:5432/convlog`.
    var location: String { get }

    /// Releases the connections.
    func close()
}

/// Where a shared log placed an append (``SharedLog/append(_:builtOn:onlyThere:)``).
public struct SharedPlacement: Sendable {
    /// The record the append was placed after: the head it was built on, or a later one when
    /// other stores appended meanwhile (the records then got later sequences and other hashes).
    public var after: ChainHead
    /// The last record of the append as placed.
    public var last: ChainHead
    /// The stored bytes of the records between the head the append was built on and ``after``,
    /// when the shared log sent them along (nil: read them with ``SharedLog/records(after:limit:)``).
    public var missed: [[UInt8]]?

    public init(after: ChainHead, last: ChainHead, missed: [[UInt8]]?) {
        self.after = after
        self.last = last
        self.missed = missed
    }
}

/// A record for a shared log: its stored bytes split where the shared log keeps them apart (the
/// envelope without the payload, and the payload, so that erasure only removes payloads), and
/// the fields a shared log indexes.
public struct SharedRecord: Sendable {
    /// The decoded record.
    public let event: RecordedEvent
    /// The record without its payload, in format 2 or 1 (a format 3 record is expanded into its
    /// format 2 form, which has the same hash): what an erased record is, byte for byte.
    public let envelope: [UInt8]
    /// The payload, or nil when the record has none stored (erased, or format 1 whose payload is
    /// inside the envelope).
    public let payload: [UInt8]?

    /// What the hash covers besides the previous hash: the envelope without its trailer (the
    /// previous hash and the hash), in which a shared log writes the record's sequence when it
    /// places it.
    public var canonicalBytes: ArraySlice<UInt8> { envelope.dropLast(EventCodec.trailerSize) }

    /// Splits stored record bytes.
    /// - Throws: ``RecordDecodingError`` when they are not a record.
    public init(storedBytes bytes: [UInt8]) throws {
        try self.init(event: try bytes.withUnsafeBytes { try EventCodec.decodeRecord($0) }, storedBytes: bytes)
    }

    /// Splits the stored bytes of `event`, already decoded.
    /// - Throws: ``RecordDecodingError`` when they are not a record.
    public init(event: RecordedEvent, storedBytes bytes: [UInt8]) throws {
        self.event = event
        let parts = try bytes.withUnsafeBytes { raw -> (envelope: [UInt8], payload: [UInt8]?)? in
            let link = try ChainLink(raw)
            guard link.formatVersion >= 2 else { return nil }
            // A format 3 record travels in its format 2 form (same hash): a shared log keeps those.
            let envelope = link.canonicalBytes() + Array(link.previousHashBytes) + Array(link.storedHashBytes)
            return (envelope, link.payload.isEmpty ? nil : Array(link.payload))
        }
        envelope = parts?.envelope ?? bytes
        payload = parts.flatMap(\.payload)
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
    /// it was being committed): the mirror catches up with the shared log either way.
    public var outcomeUnknown: Bool

    public init(_ message: String, outcomeUnknown: Bool = false) {
        self.message = message
        self.outcomeUnknown = outcomeUnknown
    }

    public var description: String { message }
}
