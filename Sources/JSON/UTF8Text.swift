/// Text from UTF-8 bytes, refused when they are not valid UTF-8.
///
/// The standard library's `String(validating:as:)` is generic over the encoding and, called
/// from here, instantiates type metadata on every call (measured: validation was ~10% of the
/// daemon's request path in process, half of it that metadata). Valid UTF-8 survives
/// `String(decoding:as:)` unchanged, while invalid bytes are repaired into U+FFFD, so comparing
/// the bytes back validates without that cost; ASCII, which most keys, ids and roles are, skips
/// the comparison.
public enum UTF8Text {
    /// The text of `bytes`, or nil when they are not valid UTF-8.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> String? {
        decode(bytes, isASCII: isASCII(bytes))
    }

    /// ``decode(_:)`` for a caller that already knows whether every byte is below 0x80.
    public static func decode(_ bytes: UnsafeRawBufferPointer, isASCII: Bool) -> String? {
        let text = String(decoding: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self)
        if isASCII { return text }
        return text.utf8.elementsEqual(bytes) ? text : nil
    }

    /// Whether every byte is below 0x80.
    public static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var high: UInt8 = 0
        for byte in bytes { high |= byte }
        return high < 0x80
    }
}
