import ArgumentParser
import ConvLog
import ConvLogRPC
import EventLog
import Foundation
import JSON
import JSONRPC
import Projections

/// The daemon's request path in process: request bytes in, response bytes out, through the real
/// dispatcher, method table, service and store (`--durability nosync`), without the socket. It
/// reports the process's CPU time per request, the user-space share of the daemon's cost that
/// the hot-path work (issue #12) is about, steadier than a socket benchmark on a noisy machine.
struct DispatchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch",
        abstract: "CPU per request of the daemon's request path in process (dispatcher, service, store), without the socket.",
        discussion: """
            add: --in-flight appends at a time (as that many clients would), each answered from \
            the writer's completion; getContext: one at a time (window 5) on the sessions the adds \
            wrote. Prints the median of --runs runs for each.

            Example: convlog-bench dispatch --count 40000 --runs 3
            """
    )

    /// What marks an error response.
    private static let errorMember = Array(#""error":"#.utf8)

    /// Whether a response is an error: a plain byte search (the generic searches of the standard
    /// library and Foundation cost more than the request being measured).
    private static func isError(_ response: [UInt8]) -> Bool {
        guard response.count >= errorMember.count else { return false }
        return (0...(response.count - errorMember.count)).contains { start in
            errorMember.indices.allSatisfy { response[start + $0] == errorMember[$0] }
        }
    }

    @Option(help: "Requests per run and method.") var count = 40_000
    @Option(name: .customLong("in-flight"), help: "Appends in flight at once.") var inFlight = 16
    @Option(help: "Sessions written (and read).") var sessions = 2_000
    @Option(help: "Text bytes per message.") var bytes = 200
    @Option(help: "Runs; the median is reported.") var runs = 3

    func validate() throws {
        guard count >= sessions, sessions >= 1, inFlight >= 1, runs >= 1 else {
            throw ValidationError("need --count ≥ --sessions ≥ 1, --in-flight ≥ 1, --runs ≥ 1")
        }
    }

    func run() throws {
        var addCosts: [Double] = []
        var readCosts: [Double] = []
        for run in 1...runs {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("convlog-dispatch-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            var configuration = EventStore.Configuration()
            configuration.durability = .nosync
            let views = try ConversationViews.open(directory: directory, configuration: configuration)
            defer { views.store.close() }
            let dispatcher = RPCDispatcher(methods: ConvLogMethods.table(service: ConversationService(views: views)) { 0 }, mapError: ConvLogMethods.mapError)
            let add = try measureAdds(dispatcher)
            let read = try measureReads(dispatcher)
            addCosts.append(add)
            readCosts.append(read)
            print(String(format: "run %d: add %.1f µs CPU, getContext %.1f µs CPU per request", run, add, read))
        }
        print(String(format: "median: add %.1f µs, getContext %.1f µs of CPU per request", addCosts.sorted()[runs / 2], readCosts.sorted()[runs / 2]))
    }

    /// CPU µs per `add`, `inFlight` at a time.
    private func measureAdds(_ dispatcher: RPCDispatcher) throws -> Double {
        let content = String(repeating: "m", count: bytes)
        let frames = (0..<count).map { index in
            Array(#"{"jsonrpc":"2.0","id":\#(index),"method":"add","params":{"sessionId":"bench-s\#(index % sessions)","role":"\#(index % 2 == 0 ? "user" : "assistant")","content":"\#(content)","metadata":{"turn":\#(index / sessions)},"messageId":"m\#(index)","createIfMissing":true}}"#.utf8)
        }
        let slots = DispatchSemaphore(value: inFlight)
        let done = DispatchGroup()
        let failures = FailureCount()
        let cpu = try ProcessCPUTime.measure {
            for frame in frames {
                slots.wait()
                done.enter()
                let finish: @Sendable (@escaping @Sendable () -> [UInt8]?) -> Void = { response in
                    if let bytes = response(), Self.isError(bytes) {
                        failures.increment()
                    }
                    slots.signal()
                    done.leave()
                }
                switch frame.withUnsafeBytes({ dispatcher.handle(frame: $0) }) {
                case .started(let start): start(finish)
                case .ready, .pending: throw ValidationError("add was not answered from the writer's completion")
                }
            }
            done.wait()
        }
        guard failures.value == 0 else { throw ValidationError("\(failures.value) adds failed") }
        return cpu / Double(count) * 1e6
    }

    /// CPU µs per `getContext`, one at a time.
    private func measureReads(_ dispatcher: RPCDispatcher) throws -> Double {
        let frames = (0..<count).map { index in
            Array(#"{"jsonrpc":"2.0","id":\#(index),"method":"getContext","params":{"sessionId":"bench-s\#((index * 7_919) % sessions)","window":5}}"#.utf8)
        }
        return try ProcessCPUTime.measure {
            for frame in frames {
                guard case .ready(let response?) = frame.withUnsafeBytes({ dispatcher.handle(frame: $0) }), !response.isEmpty else {
                    throw ValidationError("getContext was not answered at once")
                }
            }
        } / Double(count) * 1e6
    }
}

/// Failed requests, counted from any thread.
private final class FailureCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// The CPU time (user + system, all threads) this process spends in a piece of work.
enum ProcessCPUTime {
    static func measure(_ body: () throws -> Void) rethrows -> Double {
        let before = seconds()
        try body()
        return seconds() - before
    }

    private static func seconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
