import JSON

/// Appends big-endian integers and length-prefixed fields to a byte buffer.
package struct ByteWriter {
    package var bytes: [UInt8] = []

    package init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    package mutating func write(_ value: UInt8) { bytes.append(value) }

    package mutating func write<T: FixedWidthInteger>(bigEndian value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// A field of at most 255 bytes, after a one-byte length.
    package mutating func writeShort(_ field: some Collection<UInt8>) {
        write(UInt8(field.count))
        bytes.append(contentsOf: field)
    }

    /// A field of at most 65,535 bytes, after a two-byte length.
    package mutating func writeMedium(_ field: some Collection<UInt8>) {
        write(bigEndian: UInt16(field.count))
        bytes.append(contentsOf: field)
    }

    /// A field of at most 4 GiB, after a four-byte length.
    package mutating func writeLong(_ field: some Collection<UInt8>) {
        write(bigEndian: UInt32(field.count))
        bytes.append(contentsOf: field)
    }

    /// An unsigned integer in 1–10 bytes, seven bits per byte, least significant first (LEB128).
    package mutating func writeVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
}

/// Reads what ``ByteWriter`` wrote, failing with ``RecordDecodingError`` instead of reading past the end.
package struct ByteReader {
    package let buffer: UnsafeRawBufferPointer
    package private(set) var offset = 0

    package init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    package var remaining: Int { buffer.count - offset }

    package mutating func readByte() throws(RecordDecodingError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated(at: offset) }
        defer { offset += 1 }
        return buffer[offset]
    }

    package mutating func read<T: FixedWidthInteger>(bigEndian type: T.Type) throws(RecordDecodingError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncated(at: offset) }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + size])) }
        offset += size
        return T(bigEndian: value)
    }

    package mutating func readBytes(count: Int) throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw .truncated(at: offset) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + count])
    }

    package mutating func readShort() throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        try readBytes(count: Int(try readByte()))
    }

    package mutating func readMedium() throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        try readBytes(count: Int(try read(bigEndian: UInt16.self)))
    }

    package mutating func readLong() throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        try readBytes(count: Int(try read(bigEndian: UInt32.self)))
    }

    /// An integer written by ``ByteWriter/writeVarint(_:)``.
    package mutating func readVarint() throws(RecordDecodingError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            guard shift < 64 else { throw .invalidCode(field: "varint", value: byte) }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    package mutating func readString(_ field: UnsafeRawBufferPointer, name: String) throws(RecordDecodingError) -> String {
        guard let text = UTF8Text.decode(field) else { throw .invalidText(field: name) }
        return text
    }
}

/// Why stored bytes could not be decoded as a record.
public enum RecordDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated(at: Int)
    case unsupportedFormatVersion(UInt8)
    case invalidText(field: String)
    case invalidCode(field: String, value: UInt8)
    case invalidJSON(field: String)
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .truncated(let offset): "record truncated at byte \(offset)"
        case .unsupportedFormatVersion(let version): "record format version \(version) is newer than this build supports (\(EventCodec.formatVersion))"
        case .invalidText(let field): "field \(field) is not valid UTF-8"
        case .invalidCode(let field, let value): "field \(field) has unknown code \(value)"
        case .invalidJSON(let field): "field \(field) is not valid JSON"
        case .trailingBytes(let count): "\(count) unexpected bytes after the record"
        }
    }
}
