import Testing

@testable import EventLog

@Suite("Packed projection rows")
struct PackedRowsTests {
    /// Every row's key and value, copied out.
    private func contents(_ rows: PackedRows) -> [ProjectionRow] {
        (0..<rows.count).map { index in rows.withRow(index) { ProjectionRow(key: Array($0), value: Array($1)) } }
    }

    @Test("rows read back exactly as appended, empty keys and values included")
    func appendedRowsReadBack() {
        let expected = [
            ProjectionRow(key: [1, 2, 3], value: [9]),
            ProjectionRow(key: [4], value: []),
            ProjectionRow(key: [], value: [7, 7]),
            ProjectionRow(key: Array("session-1".utf8) + [0], value: LogSchema.bigEndianBytes(42)),
        ]
        var rows = PackedRows()
        for row in expected { rows.append(key: { $0 += row.key }, value: { $0 += row.value }) }
        #expect(rows.count == expected.count)
        #expect(contents(rows) == expected)
    }

    @Test("sorting packs rows in LMDB's key order: bytes, then a prefix before longer keys")
    func sortingFollowsKeyOrder() {
        let unsorted = [
            ProjectionRow(key: [2], value: [0]),
            ProjectionRow(key: [1, 0xFF], value: [1]),
            ProjectionRow(key: [1], value: [2]),
            ProjectionRow(key: [0x80], value: [3]),
        ]
        #expect(contents(PackedRows(sorting: unsorted)).map(\.value) == [[2], [1], [0], [3]])
        #expect(LogSchema.precedesInUTF8("s-1", "s-10") && LogSchema.precedesInUTF8("s-10", "s-2") && !LogSchema.precedesInUTF8("é", "z"))
    }
}
