import NIOCore
import JSONRPC

/// The notification streams open on one connection, used on its event loop only.
///
/// Streams opened while a request is handled start once its response is written. The connection
/// asks ``take(limit:)`` for frames only while its socket takes more, so a stream is paced by its
/// reader; a stream that has nothing waits, out of the rotation, for its wake.
final class ConnectionStreams {
    private struct Entry {
        let id: String
        let stream: any RPCNotificationStream
        /// Not waiting for a wake: ``take(limit:)`` asks it.
        var ready = true
    }

    /// The most streams one connection may hold.
    let maximum: Int
    private var entries: [Entry] = []
    /// Opened by the request being handled: started after its response.
    private var opened: [Entry] = []
    /// Where the round robin of ``take(limit:)`` goes on.
    private var cursor = 0

    init(maximum: Int) { self.maximum = maximum }

    /// Whether some stream may have frames now.
    var hasReady: Bool { entries.contains { $0.ready } }

    /// Whether streams were opened since the last ``startOpened(wake:)``.
    var hasOpened: Bool { !opened.isEmpty }

    func open(_ stream: any RPCNotificationStream, id: String) throws(RPCError) {
        guard !entries.contains(where: { $0.id == id }), !opened.contains(where: { $0.id == id }) else {
            throw RPCError.invalidRequest("a stream \(id) is open on this connection already")
        }
        guard entries.count + opened.count < maximum else {
            throw RPCError(
                code: RPCError.invalidRequestCode,
                message: "Invalid request: a connection holds at most \(maximum) subscriptions; unsubscribe one first",
                data: ["limit": .integer(Int64(maximum))]
            )
        }
        opened.append(Entry(id: id, stream: stream))
    }

    func close(id: String) -> Bool {
        if let index = opened.firstIndex(where: { $0.id == id }) {
            opened.remove(at: index).stream.cancel()
            return true
        }
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return false }
        entries.remove(at: index).stream.cancel()
        return true
    }

    /// Starts the streams opened since the last call; `wake(id)` makes the wake of stream `id`.
    func startOpened(wake: (String) -> @Sendable () -> Void) {
        guard !opened.isEmpty else { return }
        let starting = opened
        opened = []
        entries += starting
        for entry in starting { entry.stream.start(wake: wake(entry.id)) }
    }

    /// Stream `id` has frames again.
    func wake(id: String) {
        if let index = entries.firstIndex(where: { $0.id == id }) { entries[index].ready = true }
    }

    /// Up to `limit` frames from the ready streams, taken in turn, in at most `calls` calls (a
    /// call may yield nothing and ask to be called again: bounded work per turn of the loop);
    /// finished streams are removed.
    func take(limit: Int, calls: Int = 16) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var asked = 0
        var called = 0
        while frames.count < limit, asked < entries.count, called < calls {
            if cursor >= entries.count { cursor = 0 }
            guard entries[cursor].ready else {
                cursor += 1
                asked += 1
                continue
            }
            let batch = entries[cursor].stream.next(limit: limit - frames.count)
            called += 1
            frames += batch.frames
            switch batch.state {
            case .more:
                cursor += 1
                asked = 0
            case .idle:
                entries[cursor].ready = false
                cursor += 1
                asked += 1
            case .finished:
                entries.remove(at: cursor).stream.cancel()
                asked = 0
            }
        }
        return frames
    }

    /// The connection closed: every stream is cancelled.
    func cancelAll() {
        let all = entries + opened
        entries = []
        opened = []
        for entry in all { entry.stream.cancel() }
    }
}

/// The ``RPCConnectionContext`` a method gets: the connection's streams, used on its loop.
struct LoopConnectionContext: RPCConnectionContext {
    let streams: NIOLoopBound<ConnectionStreams>

    func open(_ stream: any RPCNotificationStream, id: String) throws(RPCError) {
        try streams.value.open(stream, id: id)
    }

    func close(id: String) -> Bool {
        streams.value.close(id: id)
    }
}
