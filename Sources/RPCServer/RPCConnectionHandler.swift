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

    init(
        dispatcher: RPCDispatcher,
        maximumFrameBytes: Int,
        maximumInFlight: Int,
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
        self.tracker = tracker
        self.logger = logger
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
            let outcome = line.withUnsafeReadableBytes { dispatcher.handle(frame: $0) }
            switch outcome {
            case .ready(let response):
                if let response { send(response, context: context, flush: false) }
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
        context.fireChannelWritabilityChanged()
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
