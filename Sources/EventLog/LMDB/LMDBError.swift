import Foundation
import CLMDB

/// An error returned by an `mdb_*` call: the LMDB return code, its message, and what was being done.
///
/// Codes are compared with the named constants (`error.code == LMDBError.mapFull.code`) or with
/// the predicates such as ``isMapFull``. Non-negative codes are `errno` values (for example
/// `ENOENT` when the environment directory is missing).
///
/// Related LMDB documentation: <http://www.lmdb.tech/doc/group__errors.html>
public struct LMDBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The code returned by LMDB (`MDB_*` or an `errno` value).
    public var code: Int32
    /// The operation that failed, such as `"mdb_env_open"`.
    public var operation: String

    /// Wraps an LMDB return code.
    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// LMDB's own text for ``code`` (`mdb_strerror`).
    public var message: String { String(cString: mdb_strerror(code)) }

    public var description: String { "\(operation) failed: \(message) (LMDB code \(code))" }

    /// The map (the environment's size limit) is full: grow it and retry the transaction.
    public var isMapFull: Bool { code == MDB_MAP_FULL }
    /// The device holding the environment is full, or the user's quota is (`ENOSPC`, `EDQUOT`).
    public var isDiskFull: Bool { code == ENOSPC || code == EDQUOT }
    /// The key was not found.
    public var isNotFound: Bool { code == MDB_NOTFOUND }

    public static func == (lhs: LMDBError, rhs: LMDBError) -> Bool { lhs.code == rhs.code }
}

/// Throws an ``LMDBError`` for a non-zero LMDB return code.
@inline(__always)
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws {
    if code != 0 { throw LMDBError(code: code, operation: operation()) }
}
