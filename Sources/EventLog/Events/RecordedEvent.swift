import Crypto
import Foundation

/// A SHA-256 digest linking a record to the one before it.
public struct EventHash: Sendable, Hashable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// The `prevHash` of the first record of a log: 32 zero bytes.
    public static let genesis = EventHash(bytes: [UInt8](repeating: 0, count: 32))

    package init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "an event hash has 32 bytes")
        self.bytes = bytes
    }

    /// `SHA-256(previous ‖ canonical)`: the hash of a record whose canonical bytes are `canonical`.
    static func chaining(_ previous: EventHash, _ canonical: UnsafeRawBufferPointer) -> EventHash {
        previous.bytes.withUnsafeBytes { chaining($0, canonical) }
    }

    /// `SHA-256(previous ‖ canonical)`, with the previous hash as raw bytes.
    static func chaining(_ previous: UnsafeRawBufferPointer, _ canonical: UnsafeRawBufferPointer) -> EventHash {
        var hasher = SHA256()
        hasher.update(bufferPointer: previous)
        hasher.update(bufferPointer: canonical)
        let digest = hasher.finalize()
        return EventHash(bytes: digest.withUnsafeBytes { [UInt8]($0) })
    }

    /// Whether these are the hash's 32 bytes.
    func matches(_ raw: UnsafeRawBufferPointer) -> Bool {
        raw.count == 32 && bytes.withUnsafeBytes { memcmp($0.baseAddress!, raw.baseAddress!, 32) == 0 }
    }

    /// Lower-case hexadecimal.
    public var description: String { bytes.hexString }
}

/// One stored record of the log: an event with its position, time and place in the integrity chain.
public struct RecordedEvent: Sendable, Hashable {
    /// The record format version it was stored with.
    public var formatVersion: UInt8
    /// The global position in the log, from 1, gap-free.
    public var sequence: UInt64
    /// The session (stream) the event belongs to.
    public var sessionID: String
    /// The position within its session, from 1, gap-free.
    public var sessionVersion: UInt64
    /// When it was stored: UTC milliseconds since 1970, never decreasing along the log.
    public var timestamp: Int64
    /// The event itself.
    public var event: Event
    /// The hash of the record before it (``EventHash/genesis`` for the first).
    public var previousHash: EventHash
    /// `SHA-256(previousHash ‖ canonical bytes of this record)`.
    public var hash: EventHash

    public init(
        formatVersion: UInt8,
        sequence: UInt64,
        sessionID: String,
        sessionVersion: UInt64,
        timestamp: Int64,
        event: Event,
        previousHash: EventHash,
        hash: EventHash
    ) {
        self.formatVersion = formatVersion
        self.sequence = sequence
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.timestamp = timestamp
        self.event = event
        self.previousHash = previousHash
        self.hash = hash
    }
}

extension Sequence<UInt8> {
    /// Lower-case hexadecimal.
    package var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
