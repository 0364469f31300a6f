import ConvLog
import EventLog
import JSON
import JSONRPC
import Synchronization

/// The live tail: `subscribe` opens a stream of the log's events on the caller's connection,
/// `unsubscribe` closes it. Events travel as `event` notifications (`{subscription, event}`, the
/// event in the form of `readEvents`), then one `caughtUp` (`{subscription, sequence}`) when the
/// stream has delivered the log as it stood and goes on with events as they commit, and a
/// `subscriptionEnded` (`{subscription, error}`) if the daemon ends it.
enum SubscriptionMethods {
    static func table(service: ConversationService) -> [String: RPCMethod] {
        [
            "subscribe": .connected { raw, connection in
                let params = try Params(raw)
                try params.rejectUnknown(["fromSequence", "sessionId", "types"])
                let subscription = try service.subscribe(
                    from: try params.optionalInteger("fromSequence", in: 1...Int64.max).map(UInt64.init),
                    sessionID: try params.optionalString("sessionId"),
                    types: try params.optionalStrings("types")
                )
                let id = SubscriptionIDs.next()
                do {
                    try connection.open(SubscriptionStream(id: id, subscription: subscription), id: id)
                } catch {
                    subscription.cancel()
                    throw error
                }
                return ["subscription": .string(id), "fromSequence": .integer(Int64(subscription.startSequence))]
            },
            "unsubscribe": .connected { raw, connection in
                let params = try Params(raw)
                try params.rejectUnknown(["subscription"])
                return ["unsubscribed": .bool(connection.close(id: try params.string("subscription")))]
            },
        ]
    }
}

/// Subscription ids, unique for the daemon's life.
private enum SubscriptionIDs {
    private static let counter = Atomic<Int64>(0)

    static func next() -> String {
        "sub-\(counter.add(1, ordering: .relaxed).newValue)"
    }
}

/// One subscription as the notifications of its connection.
final class SubscriptionStream: RPCNotificationStream {
    private let id: String
    private let subscription: LogSubscription

    init(id: String, subscription: LogSubscription) {
        self.id = id
        self.subscription = subscription
    }

    func start(wake: @escaping @Sendable () -> Void) {
        subscription.start(wake: wake)
    }

    func next(limit: Int) -> RPCStreamBatch {
        let poll = subscription.poll(limit: limit)
        var frames = poll.events.map(eventFrame)
        if let through = poll.caughtUpThrough {
            frames.append(RPCStreamBatch.notification(method: "caughtUp", params: ["subscription": .string(id), "sequence": .integer(Int64(through))]))
        }
        switch poll.state {
        case .more:
            return RPCStreamBatch(frames: frames, state: .more)
        case .idle:
            return RPCStreamBatch(frames: frames, state: .idle)
        case .ended(let end):
            frames.append(RPCStreamBatch.notification(method: "subscriptionEnded", params: ["subscription": .string(id), "error": Self.error(end).jsonValue]))
            return RPCStreamBatch(frames: frames, state: .finished)
        }
    }

    func cancel() {
        subscription.cancel()
    }

    private static let eventPrefix = Array(#"{"jsonrpc":"2.0","method":"event","params":{"event":"#.utf8)

    /// `{"jsonrpc":"2.0","method":"event","params":{"event":…,"subscription":…}}`, canonical,
    /// written directly (every event of every subscriber goes through here).
    private func eventFrame(_ record: RecordedEvent) -> [UInt8] {
        var frame = Self.eventPrefix
        frame.reserveCapacity(512)
        record.appendCanonicalJSON(to: &frame)
        frame.append(contentsOf: #","subscription":"#.utf8)
        JSONValue.appendQuoted(id, to: &frame)
        frame.append(contentsOf: "}}".utf8)
        return frame
    }

    /// Why the daemon ended a subscription, with where to subscribe again (`data.resumeFrom`).
    static func error(_ end: LogSubscription.End) -> RPCError {
        switch end {
        case .tooSlow(let resumeFrom):
            return RPCError(
                code: RPCError.subscriberTooSlowCode,
                message: "Subscriber too slow: more events waited than the daemon holds for one subscriber; subscribe again with fromSequence \(resumeFrom)",
                data: ["resumeFrom": .integer(Int64(resumeFrom))]
            )
        case .failed(let reason, let resumeFrom):
            return RPCError(code: RPCError.internalErrorCode, message: "Internal error: \(reason)", data: ["resumeFrom": .integer(Int64(resumeFrom))])
        case .closed(let resumeFrom):
            return RPCError(code: RPCError.shuttingDownCode, message: "Shutting down: the daemon is stopping", data: ["resumeFrom": .integer(Int64(resumeFrom))])
        }
    }
}
