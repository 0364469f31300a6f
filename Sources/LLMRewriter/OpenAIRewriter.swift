import FollowUp
import Foundation
import NIOConcurrencyHelpers
import JSON

/// Rewrites follow-ups with a language model behind an OpenAI-compatible
/// `POST {base}/v1/chat/completions` endpoint, over libcurl.
///
/// One attempt per call, no retries, a strict timeout, and a circuit breaker: after
/// ``Configuration/failuresToOpen`` failures in a row it stops calling for
/// ``Configuration/openDuration`` and fails at once. Every failure (and an empty or multi-line
/// answer) throws ``LLMRewriteError``; the service then falls back to the rules.
public final class OpenAIRewriter: StandaloneQueryRewriter {
    public struct Configuration: Sendable {
        /// The server's base URL, such as `http://127.0.0.1:8080` (the path `/v1/chat/completions` is added).
        public var baseURL: String
        public var model: String
        /// Sent as `Authorization: Bearer …` when set.
        public var apiKey: String?
        public var timeout: Duration = .seconds(2)
        public var failuresToOpen = 3
        public var openDuration: Duration = .seconds(30)

        public init(baseURL: String, model: String, apiKey: String? = nil) {
            self.baseURL = baseURL
            self.model = model
            self.apiKey = apiKey
        }
    }

    public let configuration: Configuration
    private let breaker = NIOLockedValueBox(BreakerState())

    private struct BreakerState {
        var consecutiveFailures = 0
        var openUntil: ContinuousClock.Instant?
    }

    public init(configuration: Configuration) { self.configuration = configuration }

    public func rewrite(query: String, history: [ConversationTurn], context: [String: String], previousTopic: Topic?) async throws -> String {
        let now = ContinuousClock.now
        let open = breaker.withLockedValue { state -> Bool in
            if let until = state.openUntil, now < until { return true }
            return false
        }
        if open { throw LLMRewriteError.circuitOpen }
        let body = Self.requestBody(model: configuration.model, query: query, history: history, context: context, previousTopic: previousTopic)
        var headers = ["Content-Type: application/json", "Accept: application/json"]
        if let key = configuration.apiKey, !key.isEmpty { headers.append("Authorization: Bearer \(key)") }
        let url = configuration.baseURL.hasSuffix("/") ? configuration.baseURL + "v1/chat/completions" : configuration.baseURL + "/v1/chat/completions"
        let timeout = configuration.timeout
        let requestHeaders = headers
        do {
            // libcurl blocks: run it on a Dispatch thread, never on the cooperative pool.
            let response = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPPost.Response, any Error>) in
                DispatchQueue.global(qos: .userInitiated).async {
                    continuation.resume(with: Result { try HTTPPost.perform(url: url, headers: requestHeaders, body: body, timeout: timeout) })
                }
            }
            let answer = try Self.answer(from: response)
            breaker.withLockedValue { $0 = BreakerState() }
            return answer
        } catch {
            breaker.withLockedValue { state in
                state.consecutiveFailures += 1
                if state.consecutiveFailures >= configuration.failuresToOpen {
                    state.openUntil = ContinuousClock.now + configuration.openDuration
                    state.consecutiveFailures = 0
                }
            }
            if let error = error as? LLMRewriteError { throw error }
            if let error = error as? CurlError { throw error.isTimeout ? LLMRewriteError.timeout : LLMRewriteError.transport(error.description) }
            throw LLMRewriteError.transport("\(error)")
        }
    }

    /// The system prompt.
    static let instructions = """
        You rewrite the user's last question so that it can be understood without the conversation. \
        Resolve pronouns and references (it, they, those, that one) and complete fragments (what about X?) \
        using the conversation and the context. Keep the meaning and wording otherwise. If the question \
        already stands alone, return it unchanged. Answer with the rewritten question only, on one line, \
        without quotes or explanations.
        """

    static func requestBody(model: String, query: String, history: [ConversationTurn], context: [String: String], previousTopic: Topic?) -> [UInt8] {
        var prompt = "Conversation:\n"
        for turn in history { prompt += "\(turn.speaker.rawValue): \(turn.text)\n" }
        if let topic = previousTopic {
            let parts = [topic.entity.map { "entity: \($0)" }, topic.metric.map { "metric: \($0)" }, topic.timeRange.map { "time: \($0)" }]
                .compactMap { $0 } + topic.filters.map { "filter: \($0)" }
            if !parts.isEmpty { prompt += "\nPrevious topic: \(parts.joined(separator: "; "))\n" }
        }
        for key in context.keys.sorted() where key != SessionStateKeys.topic { prompt += "Context \(key): \(context[key]!)\n" }
        prompt += "\nLast question: \(query)\nStandalone question:"
        let request: JSONValue = [
            "model": .string(model),
            "temperature": .integer(0),
            "max_tokens": .integer(96),
            "messages": [
                ["role": "system", "content": .string(instructions)],
                ["role": "user", "content": .string(prompt)],
            ],
        ]
        return request.canonicalBytes
    }

    /// The single-line answer of a chat-completions response.
    static func answer(from response: HTTPPost.Response) throws -> String {
        guard (200..<300).contains(response.status) else { throw LLMRewriteError.httpStatus(response.status) }
        guard let document = try? JSONValue(parsing: response.body),
            case .array(let choices)? = document.objectValue?["choices"],
            let content = choices.first?.objectValue?["message"]?.objectValue?["content"]?.stringValue
        else { throw LLMRewriteError.malformedResponse }
        let answer = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !answer.isEmpty else { throw LLMRewriteError.emptyAnswer }
        guard !answer.contains(where: \.isNewline) else { throw LLMRewriteError.multiLineAnswer }
        return answer
    }
}

/// Keys of the session context the rewriter treats specially.
enum SessionStateKeys {
    static let topic = "topic"
}

/// Why the language model gave no usable rewrite. The description is the reason code the service reports.
public enum LLMRewriteError: Error, Sendable, Equatable, CustomStringConvertible {
    case timeout
    case transport(String)
    case httpStatus(Int)
    case malformedResponse
    case emptyAnswer
    case multiLineAnswer
    case circuitOpen

    public var description: String {
        switch self {
        case .timeout: "timeout"
        case .transport: "transport"
        case .httpStatus(let status): "http-\(status)"
        case .malformedResponse: "malformed-response"
        case .emptyAnswer: "empty-answer"
        case .multiLineAnswer: "multi-line-answer"
        case .circuitOpen: "circuit-open"
        }
    }
}
