import PostgresLog
import Testing

/// `--store` URLs: what they connect to, and what is refused.
@Suite struct PostgresLocationTests {
    @Test func unixSocketsAreTheDefaultAndTheHostParameterNamesTheirDirectory() throws {
        let plain = try PostgresLocation(url: "postgres://convlog@/chat")
        #expect(plain.endpoint == .unixSocket(path: "/var/run/postgresql/.s.PGSQL.5432"))
        #expect(plain.username == "convlog" && plain.database == "chat" && plain.tlsMode == .disable)
        let socket = try PostgresLocation(url: "postgresql://convlog@/chat?host=/tmp/pg&port=6543")
        #expect(socket.endpoint == .unixSocket(path: "/tmp/pg/.s.PGSQL.6543"))
        #expect(socket.description == "postgres://convlog@/chat?host=/tmp/pg")
    }

    @Test func tcpHostsPreferTLSAndTheDatabaseDefaultsToTheUser() throws {
        let tcp = try PostgresLocation(url: "postgres://app@db.internal:5433")
        #expect(tcp.endpoint == .tcp(host: "db.internal", port: 5433))
        #expect(tcp.database == "app" && tcp.tlsMode == .prefer)
        #expect(tcp.description == "postgres://app@db.internal:5433/app")
        #expect(try PostgresLocation(url: "postgres://app@db/x?sslmode=require").tlsMode == .require)
    }

    @Test func passwordsAndMistakesAreRefusedByName() {
        let password = #expect(throws: PostgresLocationError.self) { try PostgresLocation(url: "postgres://app:hunter2@db/x") }
        #expect(password?.description.contains("password") == true)
        #expect(password?.description.contains("hunter2") == false)
        #expect(throws: PostgresLocationError.self) { try PostgresLocation(url: "mysql://app@db/x") }
        let port = #expect(throws: PostgresLocationError.self) { try PostgresLocation(url: "postgres://app@db/x?port=99999") }
        #expect(port?.description.contains("99999") == true)
        let unknown = #expect(throws: PostgresLocationError.self) { try PostgresLocation(url: "postgres://app@db/x?sslcert=a") }
        #expect(unknown?.description.contains("sslcert") == true)
        let mode = #expect(throws: PostgresLocationError.self) { try PostgresLocation(url: "postgres://app@db/x?sslmode=verify-full") }
        #expect(mode?.description.contains("sslmode") == true)
    }
}
