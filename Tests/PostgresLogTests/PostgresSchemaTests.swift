import Crypto
import Testing

@testable import PostgresLog

@Suite("PostgreSQL schema")
struct PostgresSchemaTests {
    /// SHA-256 of the text of each shipped migration's statements, joined by a NUL. A database
    /// records the versions it applied, not their text: a shipped migration that changed would
    /// leave databases that applied the old one different from new ones.
    private static let shipped: [String] = [
        "4ab428202ab571c244c6f7e75f1e9d22653541a0971839b928f55b52b467d300",
        "e5aa346ab72ff3454a9641b1e694ef1b34757c16b2b84326b656ee0cb7158133",
        "33cf9dd042753ddda491f8e15863046c2f0f4f16d2c39ae9d282ae9719eaa735",
    ]

    private static func digest(_ statements: [String]) -> String {
        SHA256.hash(data: Array(statements.joined(separator: "\u{0}").utf8)).map { String(format: "%02x", $0) }.joined()
    }

    @Test("the migrations that shipped keep their text")
    func shippedMigrationsAreUnchanged() {
        #expect(PostgresSchema.migrations.count >= Self.shipped.count)
        for (index, expected) in Self.shipped.enumerated() {
            #expect(Self.digest(PostgresSchema.migrations[index]) == expected, "migration \(index + 1)")
        }
    }
}
