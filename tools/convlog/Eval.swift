import ArgumentParser
import ConvLog
import EventLog
import Foundation
import FollowUp
import LLMRewriter
import JSON

/// `convlog eval`: scores the follow-up analyzer on labeled cases.
struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure follow-up detection and standalone rewriting on labeled cases (JSON lines).",
        discussion: """
            Each input line: {"id", "dataset", "history": [{"role", "content"}], "query", \
            "is_follow_up", "standalone"}. Only history and query reach the analyzer. Prints \
            accuracy, precision, recall, F1, balanced accuracy and rewrite token-F1, overall and \
            per dataset. With --method llm, detection stays with the rules and the follow-ups are \
            rewritten by the model (falling back to the rules on any failure, as the daemon does).

            Examples:
              convlog eval --input ../shared/eval/followup-dev.jsonl --output predictions.jsonl
              convlog eval --input cases.jsonl --method llm --llm-url http://127.0.0.1:8080 --llm-model my-model
            """
    )

    enum Method: String, ExpressibleByArgument, CaseIterable {
        case rules, llm
    }

    @Option(help: "The labeled cases (JSON lines).") var input: String
    @Option(help: "Where to write one prediction per line: {\"id\", \"is_follow_up\", \"standalone\", \"confidence\", \"reasons\"}.") var output: String?
    @Option(help: "How to rewrite: rules or llm.") var method: Method = .rules
    @Option(name: .customLong("llm-url"), help: "With --method llm: the OpenAI-compatible server's base URL.") var llmURL: String?
    @Option(name: .customLong("llm-model"), help: "With --method llm: the model name.") var llmModel = "default"
    @Option(name: .customLong("llm-timeout-ms"), help: "With --method llm: the timeout of one rewrite.") var llmTimeoutMilliseconds = 10_000

    func validate() throws {
        if method == .llm, llmURL == nil { throw ValidationError("--method llm needs --llm-url") }
    }

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: input) else { throw CLIError("cannot read \(input)") }
        var cases: [FollowUpEvaluation.Case] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.allSatisfy({ $0 == 32 || $0 == 13 }) {
            do {
                cases.append(try FollowUpEvaluation.Case(json: try JSONValue(parsing: Array(line))))
            } catch {
                throw CLIError("\(input):\(number + 1): \(error)")
            }
        }
        let analyzer = FollowUpAnalyzer()
        let report: FollowUpEvaluation.Report
        if method == .llm, let llmURL {
            var configuration = OpenAIRewriter.Configuration(baseURL: llmURL, model: llmModel, apiKey: ProcessInfo.processInfo.environment["OPENAI_API_KEY"])
            configuration.timeout = .milliseconds(llmTimeoutMilliseconds)
            let rewriter = OpenAIRewriter(configuration: configuration)
            report = await FollowUpEvaluation.run(cases) { query, history in
                var analysis = analyzer.analyze(query: query, history: history)
                guard analysis.isFollowUp else { return analysis }
                do {
                    analysis.standaloneQuery = try await rewriter.rewrite(query: query, history: history, context: [:], previousTopic: analysis.previousTopic)
                    analysis.method = .llm
                } catch {
                    analysis.reasons.append("llm:fallback:\(error)")
                }
                return analysis
            }
        } else {
            report = FollowUpEvaluation.run(cases) { analyzer.analyze(query: $0, history: $1) }
        }
        if let output {
            var lines = Data()
            for prediction in report.predictions {
                lines.append(contentsOf: prediction.jsonValue.canonicalBytes)
                lines.append(UInt8(ascii: "\n"))
            }
            guard FileManager.default.createFile(atPath: output, contents: lines) else { throw CLIError("cannot write \(output)") }
        }
        print(Self.row("dataset", "cases", "acc", "prec", "recall", "F1", "bal.acc", "rewriteF1"))
        for dataset in report.perDataset.keys.sorted() { print(Self.row(dataset, report.perDataset[dataset]!)) }
        print(Self.row("overall", report.overall))
    }

    private static func row(_ name: String, _ metrics: FollowUpEvaluation.Metrics) -> String {
        row(
            name, "\(metrics.cases)", format(metrics.accuracy), format(metrics.precision), format(metrics.recall), format(metrics.f1),
            format(metrics.balancedAccuracy), metrics.rewriteCases == 0 ? "-" : format(metrics.rewriteTokenF1)
        )
    }

    private static func row(_ columns: String...) -> String {
        zip(columns, [16, 7, 7, 7, 7, 7, 8, 9]).map { text, width in text.padding(toLength: width, withPad: " ", startingAt: 0) }.joined(separator: " ")
    }

    private static func format(_ value: Double) -> String { String(format: "%.3f", value) }
}
