import Foundation

/// An exclusive lock on a data directory (`convlogd.lock`, flock), so two daemons never serve one log.
///
/// The lock dies with the process, so a crashed daemon never leaves a stale lock behind.
final class DataDirectoryLock: Sendable {
    private let descriptor: Int32

    struct Held: Error, CustomStringConvertible {
        var description: String
    }

    /// Takes the lock, creating the directory (mode 0700) when missing.
    /// - Throws: ``Held`` when another live process holds it.
    init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = directory.appendingPathComponent("convlogd.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Held(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var owner = [UInt8](repeating: 0, count: 32)
            let count = read(fd, &owner, owner.count)
            close(fd)
            let pid = count > 0 ? String(decoding: owner[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw Held(description: "another convlogd (pid \(pid)) is using \(directory.path)")
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        descriptor = fd
    }

    /// Releases the lock.
    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
