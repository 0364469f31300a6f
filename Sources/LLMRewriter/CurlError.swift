import CCurl

/// A libcurl failure: its code and `curl_easy_strerror` text.
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public var code: UInt32
    public var description: String { "curl error \(code): \(String(cString: curl_easy_strerror(CURLcode(rawValue: code))))" }

    /// Whether the transfer ran out of time.
    public var isTimeout: Bool { code == CURLE_OPERATION_TIMEDOUT.rawValue }
}
