/// Appends big-endian integers and length-prefixed fields to a byte buffer.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func write(_ value: UInt8) { bytes.append(value) }

    mutating func write<T: FixedWidthInteger>(bigEndian value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// A field of at most 255 bytes, after a one-byte length.
    mutating func writeShort(_ field: some Collection<UInt8>) {
        write(UInt8(field.count))
        bytes.append(contentsOf: field)
    }

    /// A field of at most 65,535 bytes, after a two-byte length.
    mutating func writeMedium(_ field: some Collection<UInt8>) {
        write(bigEndian: UInt16(field.count))
        bytes.append(contentsOf: field)
    }

    /// A field of at most 4 GiB, after a four-byte length.
    mutating func writeLong(_ field: some Collection<UInt8>) {
        write(bigEndian: UInt32(field.count))
        bytes.append(contentsOf: field)
    }
}

/// Reads what ``ByteWriter`` wrote, failing with ``RecordDecodingError`` instead of reading past the end.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    var remaining: Int { buffer.count - offset }

    mutating func readByte() throws(RecordDecodingError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated(at: offset) }
        defer { offset += 1 }
        return buffer[offset]
    }

    mutating func read<T: FixedWidthInteger>(bigEndian type: T.Type) throws(RecordDecodingError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncated(at: offset) }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + size])) }
        offset += size
        return T(bigEndian: value)
    }

    mutating func readBytes(count: Int) throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw .truncated(at: offset) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + count])
    }

    mutating func readShort() throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        try readBytes(count: Int(try readByte()))
    }

    mutating func readMedium() throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        try readBytes(count: Int(try read(bigEndian: UInt16.self)))
    }

    mutating func readLong() throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        try readBytes(count: Int(try read(bigEndian: UInt32.self)))
    }

    mutating func readString(_ field: UnsafeRawBufferPointer, name: String) throws(RecordDecodingError) -> String {
        guard let text = String(validating: field, as: UTF8.self) else { throw .invalidText(field: name) }
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
