import Logging
import NIOConcurrencyHelpers
import NIOCore
import JSONRPC

/// Serves JSON-RPC frames on one connection.
///
/// Immediate methods are answered on the event loop; deferred ones run in tasks and are answered
/// when done, so responses may come back in another order than their requests (JSON-RPC matches
/// them by id). At most ``maximumInFlight`` deferred requests run at once per connection: beyond
/// that, and while the client does not read its responses (the channel is not writable), the
/// connection stops reading, which pushes back on the client instead of buffering without bound.
///
/// Methods may open notification streams on the connection (subscriptions): their frames are
/// written after the response of the request that opened them, only while the socket takes more,
/// a bounded number per turn of the event loop.
final class RPCConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let dispatcher: RPCDispatcher
    private let maximumFrameBytes: Int
    private let maximumInFlight: Int
    private let tracker: InFlightTracker
    private let draining: NIOLockedValueBox<Bool>
    private let logger: Logger
    /// Where answers completed on other threads are handed to this channel's loop.
    private let mailbox: LoopMailbox
    private var inFlight = 0
    private var readPending = false
    private var needsFlush = false
    private let streams: ConnectionStreams
    /// The streams as the methods see them (made once the handler knows its loop).
    private var connection: (any RPCConnectionContext)?
    private var pumpScheduled = false
    /// Frames a pump turn writes at most, before it lets the loop do other work.
    private static let framesPerTurn = 64

    init(
        dispatcher: RPCDispatcher,
        maximumFrameBytes: Int,
        maximumInFlight: Int,
        maximumStreams: Int,
        tracker: InFlightTracker,
        draining: NIOLockedValueBox<Bool>,
        mailbox: LoopMailbox,
        logger: Logger
    ) {
        self.mailbox = mailbox
        self.draining = draining
        self.dispatcher = dispatcher
        self.maximumFrameBytes = maximumFrameBytes
        self.maximumInFlight = maximumInFlight
        self.streams = ConnectionStreams(maximum: maximumStreams)
        self.tracker = tracker
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        connection = LoopConnectionContext(streams: NIOLoopBound(streams, eventLoop: context.eventLoop))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .oversized:
            send(RPCDispatcher.oversizedFrameResponse(limit: maximumFrameBytes), context: context, flush: false)
        case .line(let line):
            // An empty (or blank) line is no request: skip it rather than answer a parse error.
            guard line.readableBytesView.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }
            if draining.withLockedValue({ $0 }) {
                // Shutting down: take no new work, so what is in flight can finish.
                send(RPCDispatcher.shuttingDownResponse, context: context, flush: false)
                return
            }
            let outcome = line.withUnsafeReadableBytes { dispatcher.handle(frame: $0, connection: connection) }
            switch outcome {
            case .ready(let response):
                if let response { send(response, context: context, flush: false) }
                startOpenedStreams(context: context)
            case .pending(let work):
                let finish = beginDeferred(context: context)
                Task {
                    let response = await work()
                    finish { response }
                }
            case .started(let start):
                start(beginDeferred(context: context))
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if inFlight >= maximumInFlight || !context.channel.isWritable {
            readPending = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfPossible(context: context)
        schedulePump(context: context)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        streams.cancelAll()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        streams.cancelAll()
    }

    // MARK: Notification streams

    /// Starts the streams the request just answered opened; each one's wake hops to this loop.
    private func startOpenedStreams(context: ChannelHandlerContext) {
        guard streams.hasOpened else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let mailbox = mailbox
        streams.startOpened { id in
            { mailbox.post {
                let (handler, context) = loopBound.value
                handler.streams.wake(id: id)
                handler.schedulePump(context: context)
            } }
        }
        schedulePump(context: context)
    }

    /// Runs a pump turn soon, unless one is due, nothing is ready or the socket is full.
    private func schedulePump(context: ChannelHandlerContext) {
        guard !pumpScheduled, streams.hasReady, context.channel.isActive, context.channel.isWritable else { return }
        pumpScheduled = true
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loopBound.value
            handler.pumpScheduled = false
            handler.pumpTurn(context: context)
        }
    }

    /// Writes what the streams have, up to ``framesPerTurn``, then schedules the next turn.
    private func pumpTurn(context: ChannelHandlerContext) {
        guard context.channel.isActive, context.channel.isWritable else { return }
        let frames = streams.take(limit: Self.framesPerTurn)
        for frame in frames { send(frame, context: context, flush: false) }
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        schedulePump(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// Counts a deferred request in; returns what to call, from any thread, with a function that
    /// makes its response (run here, on the channel's loop).
    private func beginDeferred(context: ChannelHandlerContext) -> @Sendable (@escaping @Sendable () -> [UInt8]?) -> Void {
        inFlight += 1
        tracker.begin()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let mailbox = mailbox
        return { response in
            // A commit drained on this channel's own loop answers at once; others hop to it.
            if loopBound.eventLoop.inEventLoop {
                let (handler, context) = loopBound.value
                handler.finishDeferred(response(), context: context)
            } else {
                mailbox.post {
                    let (handler, context) = loopBound.value
                    handler.finishDeferred(response(), context: context)
                }
            }
        }
    }

    private func finishDeferred(_ response: [UInt8]?, context: ChannelHandlerContext) {
        inFlight -= 1
        tracker.end()
        if let response, context.channel.isActive { send(response, context: context, flush: true) }
        startOpenedStreams(context: context)
        resumeReadingIfPossible(context: context)
    }

    private func resumeReadingIfPossible(context: ChannelHandlerContext) {
        if readPending, inFlight < maximumInFlight, context.channel.isWritable {
            readPending = false
            context.read()
        }
    }

    private func send(_ response: [UInt8], context: ChannelHandlerContext, flush: Bool) {
        var buffer = context.channel.allocator.buffer(capacity: response.count + 1)
        buffer.writeBytes(response)
        buffer.writeInteger(UInt8(ascii: "\n"))
        if flush {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
            needsFlush = true
        }
    }
}

@available(*, unavailable)
extension RPCConnectionHandler: Sendable {}

/// Counts deferred requests across all connections, so shutdown can wait for them.
final class InFlightTracker: Sendable {
    private let count = NIOLockedValueBox(0)

    func begin() { count.withLockedValue { $0 += 1 } }
    func end() { count.withLockedValue { $0 -= 1 } }

    /// Requests running now.
    var current: Int { count.withLockedValue { $0 } }
}
