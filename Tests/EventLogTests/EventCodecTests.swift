import Testing

@testable import EventLog

@Suite("Event codec")
struct EventCodecTests {
    static let sampleEvents: [Event] = [
        .sessionCreated(SessionCreated(userID: "user-7", metadata: ["channel": "web", "tier": 2])),
        .sessionCreated(SessionCreated()),
        .messageAdded(
            MessageAdded(messageID: "m-1", role: .user, content: .text("How many artists start with A-E?"), metadata: ["lang": "en"])
        ),
        .messageAdded(
            MessageAdded(
                messageID: "m-2",
                role: .tool,
                content: .json(["sql": "SELECT count(*) FROM artists", "rows": [86], "ok": true, "ratio": .double(0.5), "none": .null])
            )
        ),
        .messageAdded(MessageAdded(messageID: "m-3", role: .assistant, content: .text("naïve 🎵 \"quoted\"\n"))),
        .messageAdded(MessageAdded(messageID: "m-4", role: .system, content: .text(""))),
        .contextUpdated(ContextUpdated(changes: ["topic": ["entity": "artists"], "stale": .null], source: .analyzer)),
        .contextUpdated(ContextUpdated(changes: ["lastSql": "SELECT 1"], source: .client)),
        .unrecognized(type: "SessionArchived", payload: [1, 2, 3]),
        .checkpointPut(
            CheckpointPut(
                namespace: "",
                checkpointID: "1f0c-02",
                parentID: "1f0c-01",
                checkpoint: TypedBytes(type: "msgpack", bytes: [0x81, 0xA1, 0x76, 0x01]),
                metadata: ["source": "loop", "step": 2, "run_id": "r-1"],
                channelVersions: ["messages": "00000002.0.5", "__start__": "00000001.0.1"],
                blobs: [
                    ChannelBlob(channel: "messages", version: "00000002.0.5", value: .messages(versions: [2, 3, 7, 5, 300, 70_000])),
                    ChannelBlob(channel: "__start__", version: "00000001.0.1", value: .bytes(TypedBytes(type: "empty", bytes: []))),
                ]
            )
        ),
        .checkpointPut(
            CheckpointPut(namespace: "child:1", checkpointID: "c", parentID: nil, checkpoint: TypedBytes(type: "json", bytes: Array("{}".utf8)),
                          metadata: [:], channelVersions: [:], blobs: [])
        ),
        .writesPut(
            WritesPut(
                namespace: "", checkpointID: "1f0c-02", taskID: "task-9", taskPath: "~__pregel_pull, respond",
                writes: [
                    PendingWrite(index: 0, channel: "messages", value: TypedBytes(type: "msgpack", bytes: [1, 2])),
                    PendingWrite(index: -1, channel: "__error__", value: TypedBytes(type: "json", bytes: Array("\"boom\"".utf8))),
                ]
            )
        ),
        .sessionDeleted(SessionDeleted()),
        .sessionDeleted(SessionDeleted(reason: "user request")),
        .checkpointsRemoved(CheckpointsRemoved(checkpoints: [CheckpointKey(namespace: "", checkpointID: "a"), CheckpointKey(namespace: "x:1", checkpointID: "b")])),
    ]

    @Test("a record placed at another sequence after another hash is the record encoded there", arguments: sampleEvents)
    func placing(event: Event) throws {
        func encoded(at sequence: UInt64, after previous: EventHash) -> (bytes: [UInt8], hash: EventHash) {
            EventCodec.encodeRecord(
                sequence: sequence, sessionID: "session-1", sessionVersion: 3, timestamp: 1_700_000_000_123, type: event.typeName,
                payload: EventCodec.encodePayload(event), previousHash: previous)
        }
        let earlier = encoded(at: 7, after: .genesis)
        let (built, _) = encoded(at: 8, after: earlier.hash)
        let otherHead = EventHash(bytes: (0..<32).map { UInt8($0) })
        let placed = try EventCodec.placing(built, at: 0x0102_0304_0506_0709, after: otherHead)
        #expect(placed == encoded(at: 0x0102_0304_0506_0709, after: otherHead).bytes)
        #expect(try EventCodec.placing(built, at: 8, after: earlier.hash) == built)
        #expect(throws: RecordDecodingError.self) { try EventCodec.placing(Array(built.prefix(40)), at: 9, after: otherHead) }
    }

    @Test("every event type survives encode and decode", arguments: sampleEvents)
    func roundTrip(event: Event) throws {
        let (bytes, hash) = EventCodec.encodeRecord(
            sequence: 42,
            sessionID: "session-1",
            sessionVersion: 3,
            timestamp: 1_700_000_000_123,
            type: event.typeName,
            payload: EventCodec.encodePayload(event),
            previousHash: .genesis
        )
        let decoded = try bytes.withUnsafeBytes { try EventCodec.decodeRecord($0) }
        #expect(decoded.event == event)
        #expect(decoded.sequence == 42)
        #expect(decoded.sessionID == "session-1")
        #expect(decoded.sessionVersion == 3)
        #expect(decoded.timestamp == 1_700_000_000_123)
        #expect(decoded.previousHash == .genesis)
        #expect(decoded.hash == hash)
        // A type without a format 3 code (one of a newer build's) is stored in format 2.
        #expect(decoded.formatVersion == (EventCodec.typeNames.contains(event.typeName) ? EventCodec.formatVersion : 2))
        // The direct JSON writer gives the canonical bytes of the JSON form.
        var direct: [UInt8] = []
        decoded.appendCanonicalJSON(to: &direct)
        #expect(direct == decoded.jsonValue.canonicalBytes)
        var erased = decoded
        erased.event = .erased(type: event.typeName)
        erased.sequence = 1_234_567_890_123
        erased.sessionID = "quote\"d\nid"
        var directErased: [UInt8] = []
        erased.appendCanonicalJSON(to: &directErased)
        #expect(directErased == erased.jsonValue.canonicalBytes)
    }

    /// Stored bytes must never change for a given event: the log is read for years. Format 1
    /// records (logs written before 0.3) are still encoded here to prove they still decode.
    @Test("records keep their golden bytes")
    func goldenBytes() throws {
        let previous = EventHash(bytes: Array(repeating: 0xAB, count: 32))
        let cases: [(Event, String)] = [
            (Self.sampleEvents[0], Golden.sessionCreated),
            (Self.sampleEvents[2], Golden.messageAdded),
            (Self.sampleEvents[6], Golden.contextUpdated),
        ]
        for (event, golden) in cases {
            let (bytes, _) = EventCodec.encodeRecord(
                sequence: 7,
                sessionID: "s",
                sessionVersion: 2,
                timestamp: 1_735_689_600_000,
                type: event.typeName,
                payload: EventCodec.encodePayload(event),
                previousHash: previous,
                format: 1
            )
            #expect(bytes.hexString == golden, "\(event.typeName)")
            let decoded = try bytes.withUnsafeBytes { try EventCodec.decodeRecord($0) }
            #expect(decoded.event == event && decoded.formatVersion == 1)
            #expect(try bytes.withUnsafeBytes { try ChainLink($0).hashHolds })
            #expect(try bytes.withUnsafeBytes { try EventCodec.erasing($0) } == nil, "a format 1 record cannot be erased")
        }
        for (format, golden) in [(UInt8(2), Golden.messageAddedFormat2), (3, Golden.messageAddedFormat3)] {
            let (current, _) = EventCodec.encodeRecord(
                sequence: 7, sessionID: "s", sessionVersion: 2, timestamp: 1_735_689_600_000,
                type: EventType.messageAdded, payload: EventCodec.encodePayload(Self.sampleEvents[2]), previousHash: previous, format: format
            )
            #expect(current.hexString == golden, "format \(format)")
        }
    }

    /// Format 3 stores a record in fewer bytes than format 2 with the same hash, and expands into
    /// its format 2 bytes (what a shared log keeps), erased or not.
    @Test("a format 3 record is its format 2 record, compacted", arguments: sampleEvents.filter { EventCodec.typeNames.contains($0.typeName) })
    func compactFormat(event: Event) throws {
        func encoded(_ format: UInt8) -> (bytes: [UInt8], hash: EventHash) {
            EventCodec.encodeRecord(
                sequence: 11, sessionID: "session-1", sessionVersion: 5, timestamp: 1_700_000_000_123, type: event.typeName,
                payload: EventCodec.encodePayload(event), previousHash: EventHash(bytes: Array(repeating: 0x5A, count: 32)), format: format)
        }
        let (compact, hash) = encoded(3)
        let (full, fullHash) = encoded(2)
        #expect(hash == fullHash)
        #expect(compact.count == full.count - 32 - event.typeName.utf8.count)
        #expect(try compact.withUnsafeBytes { try ChainLink($0).hashHolds })
        let expanded = try SharedRecord(storedBytes: compact)
        #expect(try SharedRecord.storedBytes(envelope: expanded.envelope, payload: expanded.payload) == full)
        #expect(expanded.event.event == event && expanded.event.formatVersion == 3)
        guard let erased = try compact.withUnsafeBytes({ try EventCodec.erasing($0) }) else { return }  // an empty payload: nothing to erase
        let erasedFull = try #require(try full.withUnsafeBytes { try EventCodec.erasing($0) })
        #expect(erased.count == erasedFull.count - event.typeName.utf8.count)
        #expect(try erased.withUnsafeBytes { try ChainLink($0).isErased && ChainLink($0).hashHolds })
        let erasedRecord = try SharedRecord(storedBytes: erased)
        #expect(erasedRecord.envelope == erasedFull && erasedRecord.payload == nil)
        #expect(erasedRecord.event.event == .erased(type: event.typeName) && erasedRecord.event.hash == hash)
        var tampered = erased
        tampered[tampered.count - 65] ^= 1  // the erased payload's stored digest
        #expect(try tampered.withUnsafeBytes { try ChainLink($0).hashHolds } == false)
    }

    @Test("an erased record keeps its place in the chain, decodes as erased, and a changed payload is detected")
    func erasure() throws {
        let event = Self.sampleEvents[2]
        let (bytes, hash) = EventCodec.encodeRecord(
            sequence: 9, sessionID: "s", sessionVersion: 4, timestamp: 1, type: event.typeName,
            payload: EventCodec.encodePayload(event), previousHash: .genesis
        )
        let erased = try #require(try bytes.withUnsafeBytes { try EventCodec.erasing($0) })
        #expect(erased.count < bytes.count && !erased.hexString.contains(Array("artists".utf8).hexString))
        let link = try erased.withUnsafeBytes { try ChainLink($0) }
        #expect(link.isErased && link.hashHolds)
        let decoded = try erased.withUnsafeBytes { try EventCodec.decodeRecord($0) }
        #expect(decoded.event == .erased(type: EventType.messageAdded) && decoded.hash == hash && decoded.sessionVersion == 4)
        #expect(try erased.withUnsafeBytes { try EventCodec.erasing($0) } == nil, "already erased")
        var tampered = bytes
        tampered[bytes.count - 70] ^= 1  // a payload byte: the canonical bytes still hash, the digest no longer matches
        #expect(try tampered.withUnsafeBytes { try ChainLink($0).hashHolds } == false)
    }

    @Test("a type this build does not know decodes as opaque bytes")
    func unknownTypeIsOpaque() throws {
        let payload: [UInt8] = [9, 8, 7]
        let event = try payload.withUnsafeBytes { try EventCodec.decodePayload(type: "SessionForked", $0) }
        #expect(event == .unrecognized(type: "SessionForked", payload: payload))
    }

    @Test("truncated and malformed records are refused with a reason")
    func malformedRecords() throws {
        let (bytes, _) = EventCodec.encodeRecord(
            sequence: 1, sessionID: "s", sessionVersion: 1, timestamp: 0,
            type: EventType.messageAdded, payload: EventCodec.encodePayload(message("m")), previousHash: .genesis
        )
        for cut in [0, 10, 40, bytes.count - 65] {
            let truncated = Array(bytes.prefix(cut)) + Array(bytes.suffix(64))
            #expect(throws: RecordDecodingError.self) { try truncated.withUnsafeBytes { try EventCodec.decodeRecord($0) } }
        }
        var newer = bytes
        newer[0] = EventCodec.formatVersion + 1
        #expect(throws: RecordDecodingError.unsupportedFormatVersion(EventCodec.formatVersion + 1)) {
            try newer.withUnsafeBytes { try EventCodec.decodeRecord($0) }
        }
        var badRole = EventCodec.encodePayload(message("m"))
        badRole[3] = 99  // the role byte, after the message id (2-byte length + "m")
        #expect(throws: RecordDecodingError.self) {
            try badRole.withUnsafeBytes { try EventCodec.decodePayload(type: EventType.messageAdded, $0) }
        }
    }
}

extension Event: CustomTestStringConvertible {
    public var testDescription: String { typeName }
}

private enum Golden {
    static let messageAddedFormat3 = "0300000000000000070000000000000002000001941f297c00020001730000003c00036d2d31010100000020486f77206d616e792061727469737473207374617274207769746820412d453f0000000d7b226c616e67223a22656e227dabababababababababababababababababababababababababababababababab03587f3dfe8b41942780a4fc2b920ce60fe3b4fe95828ca52d4e1e68d40f1bf2"
    static let messageAddedFormat2 = "0200000000000000070000000000000002000001941f297c000c4d65737361676541646465640001730000003cc6ea92e0b7946290d680c561d1a37b13e20d5983ae4944af8f3d19961b96d72300036d2d31010100000020486f77206d616e792061727469737473207374617274207769746820412d453f0000000d7b226c616e67223a22656e227dabababababababababababababababababababababababababababababababab03587f3dfe8b41942780a4fc2b920ce60fe3b4fe95828ca52d4e1e68d40f1bf2"
    static let sessionCreated = "0100000000000000070000000000000002000001941f297c000e53657373696f6e4372656174656400017300000027010006757365722d370000001a7b226368616e6e656c223a22776562222c2274696572223a327dabababababababababababababababababababababababababababababababab633424e1c2b19a5edf8ab846829c418d2a30cf7c27d95e5416a51d8bba2f32c8"
    static let messageAdded = "0100000000000000070000000000000002000001941f297c000c4d65737361676541646465640001730000003c00036d2d31010100000020486f77206d616e792061727469737473207374617274207769746820412d453f0000000d7b226c616e67223a22656e227dabababababababababababababababababababababababababababababababab6665e49cc37b5506c320b980c43b90363c05cc463a918735aa9e7fb4c1237bd4"
    static let contextUpdated = "0100000000000000070000000000000002000001941f297c000e436f6e746578745570646174656400017300000030020000002b7b227374616c65223a6e756c6c2c22746f706963223a7b22656e74697479223a2261727469737473227d7dabababababababababababababababababababababababababababababababab5e21d303d4e2898b3c4e6d34394899763ed6a78edc78cbd2a85d54aa1f22315c"
}
