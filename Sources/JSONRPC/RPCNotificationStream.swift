import JSON

/// Notifications a method sends on its caller's connection after its response, as fast as the
/// caller reads them: the connection asks for frames only while its socket takes more.
///
/// A subscription is one: `subscribe` opens a stream on the connection, the stream yields one
/// notification per event, and `unsubscribe` (or the connection's end) closes it.
public protocol RPCNotificationStream: AnyObject, Sendable {
    /// Called once, on the connection's thread, after the response of the method that opened the
    /// stream was written. `wake` (callable from any thread) asks the connection to call
    /// ``next(limit:)`` again after it answered ``RPCStreamBatch/State/idle``.
    func start(wake: @escaping @Sendable () -> Void)

    /// The next notification frames (without their newlines), at most `limit`, in order.
    func next(limit: Int) -> RPCStreamBatch

    /// The stream is over (closed by a method, or the connection closed): release what it holds.
    /// Called once, on the connection's thread; ``next(limit:)`` is not called afterwards.
    func cancel()
}

/// What one ``RPCNotificationStream/next(limit:)`` yields.
public struct RPCStreamBatch: Sendable {
    /// What the connection does next with the stream.
    public enum State: Sendable, Hashable {
        /// Ask again as soon as the socket takes more.
        case more
        /// Nothing now: wait for the stream's `wake`.
        case idle
        /// These were the last frames: the stream is closed (and cancelled).
        case finished
    }

    public var frames: [[UInt8]]
    public var state: State

    public init(frames: [[UInt8]], state: State) {
        self.frames = frames
        self.state = state
    }

    /// A notification frame: `{"jsonrpc":"2.0","method":…,"params":…}`.
    public static func notification(method: String, params: JSONValue) -> [UInt8] {
        var bytes = Array(#"{"jsonrpc":"2.0","method":"#.utf8)
        JSONValue.string(method).appendCanonical(to: &bytes)
        bytes += Array(#","params":"#.utf8)
        params.appendCanonical(to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}

/// The connection a request came on, as a method sees it: where it opens and closes streams.
public protocol RPCConnectionContext: Sendable {
    /// Opens `stream` under `id`; it starts once the current request is answered.
    /// - Throws: ``RPCError`` when the connection holds its most streams, or `id` is taken.
    func open(_ stream: any RPCNotificationStream, id: String) throws(RPCError)

    /// Closes (and cancels) the stream `id` of this connection; false when there is none.
    func close(id: String) -> Bool
}
