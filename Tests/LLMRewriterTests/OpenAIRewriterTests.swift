import ConvLog
import EventLog
import FollowUp
import Foundation
import LLMRewriter
import Projections
import Testing
import JSON

private let history = [
    ConversationTurn(speaker: .user, text: "How many artists start with A-E?"),
    ConversationTurn(speaker: .assistant, text: "There are 86."),
]

private func rewriter(_ server: StubHTTPServer, timeout: Duration = .seconds(2)) -> OpenAIRewriter {
    var configuration = OpenAIRewriter.Configuration(baseURL: server.baseURL, model: "test-model", apiKey: "secret")
    configuration.timeout = timeout
    return OpenAIRewriter(configuration: configuration)
}

@Suite("LLM rewriter against a loopback server")
struct OpenAIRewriterTests {
    @Test("a single-line answer is the rewrite; the request carries model, history and key")
    func success() async throws {
        let server = try StubHTTPServer { _ in .init(body: completion("  Who are the artists whose names start with A to E?\n")) }
        defer { server.stop() }
        let answer = try await rewriter(server).rewrite(query: "Who are those artists?", history: history, context: ["lastSql": "SELECT 1"], previousTopic: nil)
        #expect(answer == "Who are the artists whose names start with A to E?")
        let request = try JSONValue(parsing: try #require(server.requests.first))
        #expect(request.objectValue?["model"] == "test-model")
        let prompt = request.objectValue?["messages"].flatMap { if case .array(let list) = $0 { list.last?.objectValue?["content"]?.stringValue } else { nil } }
        #expect(prompt?.contains("How many artists start with A-E?") == true)
        #expect(prompt?.contains("Context lastSql: SELECT 1") == true)
    }

    static let failures: [(String, StubHTTPServer.Reply, LLMRewriteError)] = [
        ("HTTP 500", .init(status: 500, body: "{}"), .httpStatus(500)),
        ("malformed JSON", .init(body: "{not json"), .malformedResponse),
        ("no choices", .init(body: #"{"choices":[]}"#), .malformedResponse),
        ("multi-line answer", .init(body: completion("Line one.\nLine two.")), .multiLineAnswer),
        ("empty answer", .init(body: completion("   ")), .emptyAnswer),
        ("timeout", .init(body: completion("late"), delay: .milliseconds(1_500)), .timeout),
    ]

    @Test("each failure is a typed error", arguments: failures.indices)
    func failure(index: Int) async throws {
        let (_, reply, expected) = Self.failures[index]
        let server = try StubHTTPServer { _ in reply }
        defer { server.stop() }
        await #expect(throws: expected) {
            try await rewriter(server, timeout: .milliseconds(300)).rewrite(query: "q", history: history, context: [:], previousTopic: nil)
        }
    }

    @Test("after three failures in a row the circuit opens and the server is no longer called")
    func circuitBreaker() async throws {
        let server = try StubHTTPServer { _ in .init(status: 503, body: "{}") }
        defer { server.stop() }
        let model = rewriter(server)
        for _ in 0..<3 {
            await #expect(throws: LLMRewriteError.httpStatus(503)) { try await model.rewrite(query: "q", history: history, context: [:], previousTopic: nil) }
        }
        await #expect(throws: LLMRewriteError.circuitOpen) { try await model.rewrite(query: "q", history: history, context: [:], previousTopic: nil) }
        #expect(server.requests.count == 3)
    }

    @Test("a refused connection is a transport error")
    func unreachable() async throws {
        var configuration = OpenAIRewriter.Configuration(baseURL: "http://127.0.0.1:1", model: "m")
        configuration.timeout = .milliseconds(500)
        let model = OpenAIRewriter(configuration: configuration)
        let error = await #expect(throws: LLMRewriteError.self) { try await model.rewrite(query: "q", history: history, context: [:], previousTopic: nil) }
        #expect(error?.description == "transport")
    }

    @Test("the service falls back to the rules on a failure and says why", arguments: [true, false])
    func serviceFallback(failing: Bool) async throws {
        let server = try StubHTTPServer { _ in failing ? .init(status: 500, body: "{}") : .init(body: completion("Which artists have names starting with A to E?")) }
        defer { server.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llm-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let views = try ConversationViews.open(directory: directory)
        defer { views.store.close() }
        let service = ConversationService(views: views, followUp: FollowUpSettings(rewriter: rewriter(server)))
        _ = try await service.create(CreateSessionRequest(sessionID: "s"))
        _ = try await service.add(AddMessageRequest(sessionID: "s", role: .user, content: .text("How many artists start with A-E?")))
        _ = try await service.add(AddMessageRequest(sessionID: "s", role: .assistant, content: .text("There are 86.")))
        let result = try await service.analyzeFollowUp(sessionID: "s", query: "Who are those artists?", window: 6, mode: .llm)
        if failing {
            #expect(result.analysis.method == .rules)
            #expect(result.analysis.standaloneQuery == "Who are the artists that start with A-E?")
            #expect(result.analysis.reasons.contains("llm:fallback:http-500"))
        } else {
            #expect(result.analysis.method == .llm)
            #expect(result.analysis.standaloneQuery == "Which artists have names starting with A to E?")
        }
        let rules = try await service.analyzeFollowUp(sessionID: "s", query: "Who are those artists?", window: 6, mode: .rules)
        #expect(rules.analysis.method == .rules)
    }
}

/// Against a real small model, started by `make test` (scripts/llm-server.sh) and named by
/// CONVLOG_TEST_LLM_URL. A 135M model is not expected to rewrite well: the test asserts the
/// contract (one non-empty line, or a typed failure and the rules' answer), not the quality.
@Suite("LLM rewriter against a real local model", .enabled(if: ProcessInfo.processInfo.environment["CONVLOG_TEST_LLM_URL"] != nil))
struct RealModelTests {
    static var baseURL: String { ProcessInfo.processInfo.environment["CONVLOG_TEST_LLM_URL"] ?? "" }

    @Test("the model answers with one non-empty line, or the service falls back to the rules with the reason")
    func realModel() async throws {
        var configuration = OpenAIRewriter.Configuration(baseURL: Self.baseURL, model: "smollm2")
        configuration.timeout = .seconds(60)
        let model = OpenAIRewriter(configuration: configuration)
        do {
            let answer = try await model.rewrite(query: "Who are those artists?", history: history, context: [:], previousTopic: nil)
            #expect(!answer.isEmpty)
            #expect(!answer.contains { $0.isNewline })
        } catch let error as LLMRewriteError {
            #expect([.multiLineAnswer, .emptyAnswer].contains(error), "\(error)")
        }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llm-real-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let views = try ConversationViews.open(directory: directory)
        defer { views.store.close() }
        let service = ConversationService(views: views, followUp: FollowUpSettings(rewriter: model))
        _ = try await service.create(CreateSessionRequest(sessionID: "s"))
        _ = try await service.add(AddMessageRequest(sessionID: "s", role: .user, content: .text("How many artists start with A-E?")))
        _ = try await service.add(AddMessageRequest(sessionID: "s", role: .assistant, content: .text("There are 86.")))
        let result = try await service.analyzeFollowUp(sessionID: "s", query: "Who are those artists?", window: 6, mode: .llm)
        switch result.analysis.method {
        case .llm:
            #expect(!result.analysis.standaloneQuery.isEmpty && !result.analysis.standaloneQuery.contains { $0.isNewline })
        case .rules:
            #expect(result.analysis.reasons.contains { $0.hasPrefix("llm:fallback:") })
            #expect(result.analysis.standaloneQuery == "Who are the artists that start with A-E?")
        }

        // Too little time for the model: the rules answer, saying why.
        var hurried = configuration
        hurried.timeout = .milliseconds(1)
        let slow = ConversationService(views: views, followUp: FollowUpSettings(rewriter: OpenAIRewriter(configuration: hurried)))
        let fallback = try await slow.analyzeFollowUp(sessionID: "s", query: "Who are those artists?", window: 6, mode: .llm)
        #expect(fallback.analysis.method == .rules)
        #expect(fallback.analysis.reasons.contains("llm:fallback:timeout"))
    }
}
