import EventLog
import Testing

@testable import Projections

/// A record of `event` in session "s" at the given position.
func record(_ event: Event, sequence: UInt64, version: UInt64? = nil, session: String = "s", at timestamp: Int64 = 1_000) -> RecordedEvent {
    RecordedEvent(
        formatVersion: 1,
        sequence: sequence,
        sessionID: session,
        sessionVersion: version ?? sequence,
        timestamp: timestamp,
        event: event,
        previousHash: .genesis,
        hash: .genesis
    )
}

func text(_ id: String, _ body: String = "hi", role: MessageRole = .user) -> Event {
    .messageAdded(MessageAdded(messageID: id, role: role, content: .text(body)))
}

@Suite("Session fold")
struct SessionFoldTests {
    @Test("SessionCreated starts the state with user, metadata and creation time")
    func created() {
        let state = SessionState.folding(nil, record(.sessionCreated(SessionCreated(userID: "u", metadata: ["k": 1])), sequence: 4, version: 1, at: 50))
        #expect(state == SessionState(sessionID: "s", createdAt: 50, lastUpdated: 50, userID: "u", metadata: ["k": 1], version: 1, lastSequence: 4))
    }

    @Test("a second SessionCreated changes neither user nor metadata")
    func repeatedCreation() {
        let first = SessionState.folding(nil, record(.sessionCreated(SessionCreated(userID: "u")), sequence: 1))
        let second = SessionState.folding(first, record(.sessionCreated(SessionCreated(userID: "other", metadata: ["x": 1])), sequence: 2, at: 99))
        #expect(second.userID == "u" && second.metadata.isEmpty)
        #expect(second.version == 2 && second.lastUpdated == 99 && second.createdAt == 1_000)
    }

    @Test("MessageAdded counts messages and moves version, sequence and update time")
    func messages() {
        var state = SessionState.folding(nil, record(.sessionCreated(SessionCreated()), sequence: 1, at: 10))
        state = SessionState.folding(state, record(text("a"), sequence: 7, version: 2, at: 20))
        state = SessionState.folding(state, record(text("b", role: .assistant), sequence: 9, version: 3, at: 30))
        #expect(state.messageCount == 2 && state.version == 3 && state.lastSequence == 9)
        #expect(state.createdAt == 10 && state.lastUpdated == 30)
    }

    @Test("context changes merge; null removes a key; nested objects are replaced whole")
    func contextMerge() {
        var state = SessionState.folding(nil, record(.sessionCreated(SessionCreated()), sequence: 1))
        state = SessionState.folding(state, record(.contextUpdated(ContextUpdated(changes: ["a": 1, "b": ["x": 1, "y": 2]], source: .client)), sequence: 2))
        state = SessionState.folding(state, record(.contextUpdated(ContextUpdated(changes: ["a": .null, "b": ["x": 3], "c": "new"], source: .client)), sequence: 3))
        #expect(state.context == ["b": ["x": 3], "c": "new"])
    }

    @Test("an analyzer update (as older logs hold) merges into the context like a client's")
    func analyzerUpdate() {
        var state = SessionState.folding(nil, record(.sessionCreated(SessionCreated()), sequence: 1))
        state = SessionState.folding(state, record(.contextUpdated(ContextUpdated(changes: ["topic": ["entity": "artists"]], source: .analyzer)), sequence: 2))
        state = SessionState.folding(state, record(.contextUpdated(ContextUpdated(changes: ["other": 1], source: .analyzer)), sequence: 3))
        #expect(state.context == ["topic": ["entity": "artists"], "other": 1])
    }

    @Test("an unknown event type only advances version and time")
    func unknownSkipped() {
        let before = SessionState.folding(nil, record(.sessionCreated(SessionCreated(userID: "u")), sequence: 1))
        let after = SessionState.folding(before, record(.unrecognized(type: "SessionArchived", payload: [1]), sequence: 2, at: 5_000))
        var expected = before
        expected.version = 2
        expected.lastSequence = 2
        expected.lastUpdated = 5_000
        #expect(after == expected)
    }

    @Test("a session whose first event is a message starts without user")
    func implicitSession() {
        let state = SessionState.folding(nil, record(text("a"), sequence: 3, version: 1, at: 77))
        #expect(state.createdAt == 77 && state.userID == nil && state.messageCount == 1)
    }
}

@Suite("Window fold")
struct WindowFoldTests {
    @Test("the window keeps the last N messages, oldest first", arguments: [1, 3, 50])
    func eviction(capacity: Int) {
        var window = RecentWindow(capacity: capacity)
        for index in 1...120 {
            window = window.folding(record(text("m\(index)"), sequence: UInt64(index)))
        }
        #expect(window.messages.map(\.message.messageID) == (121 - capacity...120).map { "m\($0)" })
        #expect(window.ordinals == UInt64(121 - capacity)...120)
        #expect(window.totalMessages == 120)
    }

    @Test("events other than messages leave the window unchanged")
    func nonMessages() {
        let window = RecentWindow(capacity: 5).folding(record(text("a"), sequence: 1))
        #expect(window.folding(record(.contextUpdated(ContextUpdated(changes: ["a": 1], source: .client)), sequence: 2)) == window)
        #expect(window.folding(record(.unrecognized(type: "X", payload: []), sequence: 3)) == window)
        #expect(window.folding(record(.sessionCreated(SessionCreated()), sequence: 4)) == window)
    }

    @Test("an empty window has no ordinals")
    func empty() {
        #expect(RecentWindow(capacity: 3).ordinals == nil)
    }
}
