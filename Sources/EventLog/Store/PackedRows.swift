/// The rows of one projection table, keys and values packed one after the other in a single
/// buffer: how a fold hands over millions of rows without two allocations per row.
///
/// A fold appends its rows in key order (LMDB's byte order), as ``ProjectionFold/rows()`` promises.
public struct PackedRows: Sendable {
    private var bytes: [UInt8] = []
    /// Per row, where its key ends and where its value ends in `bytes` (each row starts where the one before it ends).
    private var ends: [(key: Int, value: Int)] = []

    public init() {}

    /// `rows` in key order, packed.
    public init(sorting rows: [ProjectionRow]) {
        for row in rows.sorted(by: { LogSchema.precedes($0.key, $1.key) }) {
            append(key: { $0 += row.key }, value: { $0 += row.value })
        }
    }

    /// The number of rows.
    public var count: Int { ends.count }

    /// Appends a row whose key `writeKey` appends to the buffer, then its value `writeValue`.
    public mutating func append(key writeKey: (inout [UInt8]) -> Void, value writeValue: (inout [UInt8]) -> Void) {
        writeKey(&bytes)
        let keyEnd = bytes.count
        writeValue(&bytes)
        ends.append((keyEnd, bytes.count))
    }

    /// Calls `body` with the key and value of row `index`, borrowed for the call.
    public func withRow<Result>(_ index: Int, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let start = index == 0 ? 0 : ends[index - 1].value
        let (keyEnd, valueEnd) = ends[index]
        return try bytes.withUnsafeBytes { buffer in
            try body(UnsafeRawBufferPointer(rebasing: buffer[start..<keyEnd]), UnsafeRawBufferPointer(rebasing: buffer[keyEnd..<valueEnd]))
        }
    }
}
