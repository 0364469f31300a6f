import EventLog
import Projections

/// An approximate token count, for `getContext`'s `maxTokens`.
///
/// The estimate is `ceil(UTF-8 bytes of the content / 4) + 4` per message: about four bytes per
/// token for English text with common tokenizers, plus a few tokens of per-message overhead (role
/// and separators). It errs on the high side for non-English text, which keeps budgets safe.
public enum TokenEstimate {
    /// The estimated tokens of one message.
    public static func tokens(of message: MessageAdded) -> Int {
        let bytes: Int
        switch message.content {
        case .text(let text): bytes = text.utf8.count
        case .json(let value): bytes = value.canonicalBytes.count
        }
        return (bytes + 3) / 4 + 4
    }

    /// The most recent messages (kept oldest first) whose estimates add up to at most `budget`.
    public static func mostRecent(_ messages: [WindowMessage], fitting budget: Int) -> [WindowMessage] {
        var used = 0
        var kept = 0
        for entry in messages.reversed() {
            used += tokens(of: entry.message)
            guard used <= budget else { break }
            kept += 1
        }
        return Array(messages.suffix(kept))
    }
}
