import CCurl
import Foundation

/// One blocking HTTP POST through libcurl. Run it off Swift's cooperative pool.
enum HTTPPost {
    struct Response {
        var status: Int
        var body: [UInt8]
    }

    /// Curl is initialised once per process, before any handle is made.
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// The most response bytes kept; a longer answer fails the call.
    static let maximumResponseBytes = 1 << 20

    /// Posts `body` to `url` with `headers`, waiting at most `timeout` in all.
    static func perform(url: String, headers: [String], body: [UInt8], timeout: Duration) throws -> Response {
        _ = globalInit
        guard let handle = curl_easy_init() else { throw CurlError(code: CURLE_FAILED_INIT.rawValue) }
        defer { curl_easy_cleanup(handle) }
        var headerList: UnsafeMutablePointer<curl_slist>?
        for header in headers { headerList = curl_slist_append(headerList, header) }
        defer { curl_slist_free_all(headerList) }

        let sink = ResponseSink()
        let sinkPointer = Unmanaged.passRetained(sink).toOpaque()
        defer { Unmanaged<ResponseSink>.fromOpaque(sinkPointer).release() }
        let milliseconds = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)

        var code = ccurl_setopt_string(handle, CURLOPT_URL, url)
        if code == CURLE_OK { code = ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1) }
        if code == CURLE_OK { code = ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, milliseconds) }
        if code == CURLE_OK { code = ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds) }
        if code == CURLE_OK { code = ccurl_setopt_long(handle, CURLOPT_POST, 1) }
        if code == CURLE_OK { code = ccurl_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList)) }
        if code == CURLE_OK { code = ccurl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count) }
        if code == CURLE_OK { code = ccurl_setopt_write_function(handle, writeCallback) }
        if code == CURLE_OK { code = ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer) }
        guard code == CURLE_OK else { throw CurlError(code: code.rawValue) }
        // POSTFIELDS does not copy: the body must stay alive for the whole transfer.
        let result = body.withUnsafeBytes { bytes -> CURLcode in
            let set = ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
            return set == CURLE_OK ? curl_easy_perform(handle) : set
        }
        guard result == CURLE_OK else { throw CurlError(code: result.rawValue) }
        var status = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return Response(status: status, body: sink.bytes)
    }

    /// Collects the response body, up to ``maximumResponseBytes``.
    private final class ResponseSink {
        var bytes: [UInt8] = []
    }

    private static let writeCallback: ccurl_write_callback = { data, size, count, context in
        guard let data, let context else { return 0 }
        let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        guard sink.bytes.count + length <= maximumResponseBytes else { return 0 }  // aborts the transfer
        data.withMemoryRebound(to: UInt8.self, capacity: length) { sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: length)) }
        return length
    }
}
