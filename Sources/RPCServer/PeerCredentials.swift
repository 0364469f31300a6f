import CConvLogSystem
import Glibc
import NIOCore

/// The user ids allowed to talk to the daemon, checked against each connection's peer (SO_PEERCRED).
public struct PeerPolicy: Sendable {
    /// The uids allowed.
    public var allowedUIDs: Set<UInt32>

    public init(allowedUIDs: Set<UInt32>) { self.allowedUIDs = allowedUIDs }

    /// Allows only the daemon's own user.
    public static var ownerOnly: PeerPolicy { PeerPolicy(allowedUIDs: [getuid()]) }

    /// Whether a peer with this uid may connect.
    public func allows(uid: UInt32) -> Bool { allowedUIDs.contains(uid) }
}

/// The process at the other end of a Unix socket.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }

    /// Reads the peer's credentials of a connected Unix socket channel.
    static func of(_ channel: any Channel) -> EventLoopFuture<PeerIdentity> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
        }
        let credentials: EventLoopFuture<convlog_peer_credentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(convlog_so_peercred)
        )
        return credentials.map { PeerIdentity(pid: $0.pid, uid: $0.uid, gid: $0.gid) }
    }
}
