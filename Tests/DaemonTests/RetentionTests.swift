import ConvLog
import EventLog
import Foundation
import JSON
import Projections
import Testing

/// The retention sweeper's choices, with a clock the test controls (the daemon's sweeps are tested
/// end to end in clients/python/tests/test_deletion.py).
@Suite("Retention")
struct RetentionTests {
    @Test("expired sessions go, by their own TTL or the default; sessions with a TTL never crowd out the others")
    func sweep() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("convlog-retention-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let views = try ConversationViews.open(directory: directory)
        defer { views.store.close() }
        let service = ConversationService(views: views, retention: RetentionPolicy(defaultTTLSeconds: 10))
        // The oldest sessions have a long TTL of their own, then come sessions under the default.
        for index in 0..<5 { _ = try await service.create(CreateSessionRequest(sessionID: "own-\(index)", ttlSeconds: 1_000)) }
        try await Task.sleep(for: .milliseconds(5))
        for index in 0..<3 { _ = try await service.create(CreateSessionRequest(sessionID: "default-\(index)")) }
        try views.store.materializeProjections()
        let now = try service.session("default-2").lastUpdated

        let early = try views.expiryCandidates(now: now + 20_000, defaultRetentionSeconds: 10, limit: 2)
        #expect(early.count == 2 && early.allSatisfy { $0.hasPrefix("default-") })
        #expect(try service.expiry(of: service.session("default-0")) == (try service.session("default-0")).lastUpdated + 10_000)

        #expect(try await service.sweepExpired(now: now + 5_000) == 0, "nothing has expired yet")
        #expect(try await service.sweepExpired(now: now + 20_000) == 3)
        #expect(try views.listSessions(limit: 100).sessions.map(\.sessionID).sorted() == (0..<5).map { "own-\($0)" })
        #expect(try await service.sweepExpired(now: now + 2_000_000) == 5)
        #expect(try views.listSessions(limit: 100).sessions.isEmpty)
        let deletions = try views.store.events(inSession: "own-0").compactMap { record -> String? in
            if case .sessionDeleted(let deleted) = record.event { deleted.reason } else { nil }
        }
        #expect(deletions == ["expired"])
    }
}
