// libFuzzer target for the JSON-RPC front: newline framing, the JSON parser and the dispatcher.
//
// Build and run with `make fuzz` (see the Makefile): the input is split at '\n' like the socket
// stream, every frame goes through RPCDispatcher with a table of methods that parse their params
// strictly, and every answer must itself be valid JSON. A crash, a hang or an invalid answer is a
// finding. Without -DFUZZING the target builds as a replayer: `fuzz-rpc FILE...` runs saved inputs.
import Foundation
import JSON
import JSONRPC

let dispatcher = RPCDispatcher(
    methods: [
        "echo": .immediate { params in params ?? .null },
        "strict": .immediate { raw in
            let params = try Params(raw)
            try params.rejectUnknown(["sessionId", "window", "content", "flag"])
            _ = try params.string("sessionId")
            _ = try params.optionalInteger("window", in: 0...100)
            _ = try params.optionalObject("content")
            _ = try params.optionalBool("flag")
            return "ok"
        },
    ],
    mapError: { _ in .internalError }
)

/// Feeds one fuzz input through the dispatcher; traps on an answer that is not valid JSON.
func exercise(_ input: UnsafeRawBufferPointer) {
    for frame in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
        let outcome = UnsafeRawBufferPointer(rebasing: frame).withMemoryRebound(to: UInt8.self) { bytes in
            dispatcher.handle(frame: UnsafeRawBufferPointer(bytes))
        }
        guard case .ready(let answer?) = outcome else { continue }
        guard (try? JSONValue(parsing: answer)) != nil else { fatalError("the answer is not valid JSON") }
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    exercise(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
@main
struct Replayer {
    static func main() throws {
        for path in CommandLine.arguments.dropFirst() {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            data.withUnsafeBytes { exercise($0) }
            print("ok \(path)")
        }
    }
}
#endif
