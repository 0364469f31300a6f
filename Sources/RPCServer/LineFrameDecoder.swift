import NIOCore

/// One newline-delimited frame, or the news that a line was too long.
enum Frame {
    /// A line's bytes, without its newline.
    case line(ByteBuffer)
    /// A line exceeded the limit; its bytes are being discarded up to the next newline.
    case oversized
}

/// Splits the stream at `\n` (only there), with a limit on the length of a line.
///
/// A line longer than the limit produces one ``Frame/oversized`` as soon as the limit is passed;
/// the rest of that line is dropped as it arrives, so memory stays bounded by the limit.
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Frame

    let maximumFrameBytes: Int
    private var discarding = false
    /// Bytes of the buffer already searched for a newline.
    private var scanned = 0

    init(maximumFrameBytes: Int) { self.maximumFrameBytes = maximumFrameBytes }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let readable = buffer.readableBytesView
        if let newline = readable.dropFirst(scanned).firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - readable.startIndex
            scanned = 0
            if discarding {
                discarding = false
                buffer.moveReaderIndex(forwardBy: length + 1)
                return .continue
            }
            if length > maximumFrameBytes {
                buffer.moveReaderIndex(forwardBy: length + 1)
                context.fireChannelRead(wrapInboundOut(.oversized))
                return .continue
            }
            let line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            context.fireChannelRead(wrapInboundOut(.line(line)))
            return .continue
        }
        if discarding {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            scanned = 0
        } else if readable.count > maximumFrameBytes {
            discarding = true
            buffer.moveReaderIndex(to: buffer.writerIndex)
            scanned = 0
            context.fireChannelRead(wrapInboundOut(.oversized))
        } else {
            scanned = readable.count
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A last line without its newline is still a request.
        while try decode(context: context, buffer: &buffer) == .continue {}
        if !discarding, buffer.readableBytes > 0, let line = buffer.readSlice(length: buffer.readableBytes) {
            context.fireChannelRead(wrapInboundOut(.line(line)))
        }
        return .needMoreData
    }
}
