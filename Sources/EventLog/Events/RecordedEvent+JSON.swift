import Foundation

extension RecordedEvent {
    /// The JSON form of the record (`schema/events.schema.json`), as replay and `readEvents` show it.
    public var jsonValue: JSONValue {
        .object([
            "sequence": .integer(Int64(bitPattern: sequence)),
            "sessionId": .string(sessionID),
            "sessionVersion": .integer(Int64(bitPattern: sessionVersion)),
            "type": .string(event.typeName),
            "timestamp": .string(Timestamp.iso8601(milliseconds: timestamp)),
            "data": event.jsonData,
            "prevHash": .string(previousHash.description),
            "hash": .string(hash.description),
        ])
    }
}

extension Event {
    /// The event's fields in their JSON form (the `data` member of ``RecordedEvent/jsonValue``).
    public var jsonData: JSONValue {
        switch self {
        case .sessionCreated(let created):
            var data: [String: JSONValue] = ["metadata": .object(created.metadata)]
            if let userID = created.userID { data["userId"] = .string(userID) }
            return .object(data)
        case .messageAdded(let message):
            return .object([
                "messageId": .string(message.messageID),
                "role": .string(message.role.rawValue),
                "content": message.content.jsonValue,
                "metadata": .object(message.metadata),
            ])
        case .contextUpdated(let update):
            return .object(["changes": .object(update.changes), "source": .string(update.source.rawValue)])
        case .unrecognized(_, let payload):
            return .object(["payloadBase64": .string(Data(payload).base64EncodedString())])
        }
    }
}

extension MessageContent {
    /// Text as a JSON string; structured content as itself.
    public var jsonValue: JSONValue {
        switch self {
        case .text(let text): .string(text)
        case .json(let value): value
        }
    }
}

/// UTC timestamps in milliseconds, as the log stores them.
public enum Timestamp {
    /// `2026-11-22T00:05:05.123Z`.
    public static func iso8601(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds.dividedFloor(by: 1000))
        let millis = Int(milliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    /// Parses an ISO 8601 date-time (with or without fractional seconds, any offset) or a date
    /// alone (midnight UTC); nil when it is neither.
    public static func milliseconds(iso8601 text: String) -> Int64? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        let dateOnly = ISO8601DateFormatter()
        dateOnly.formatOptions = [.withFullDate]
        guard let date = withFraction.date(from: text) ?? plain.date(from: text) ?? dateOnly.date(from: text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}

extension Int64 {
    fileprivate func dividedFloor(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
