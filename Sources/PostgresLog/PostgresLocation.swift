import Foundation
import NIOCore
import NIOSSL
import PostgresNIO

/// Where the shared log lives: a `postgres://` URL, as libpq reads it.
///
/// `postgres://USER@HOST:PORT/DATABASE?host=/run/postgresql&sslmode=require` — every part is
/// optional: the host defaults to the Unix socket directory `/var/run/postgresql`, the port to
/// 5432, the user to the user the process runs as, the database to the user's name. A `host`
/// starting with `/` (in the URL or in the `host` parameter) is a Unix socket directory. TLS
/// (`sslmode`): `disable`, `prefer` (the default over TCP) or `require`; Unix sockets never use it.
///
/// The password is never part of the URL (it would show in `ps` and in shell histories): it comes
/// from a file or the environment, see ``init(url:password:)``.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    /// How the connection is made.
    public enum Endpoint: Sendable, Equatable {
        case unixSocket(path: String)
        case tcp(host: String, port: Int)
    }

    /// TLS over TCP.
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, prefer, require
    }

    public let endpoint: Endpoint
    public let username: String
    public let database: String
    public let tlsMode: TLSMode
    /// The password, when the server asks for one.
    let password: String?

    /// The default Unix socket directory of Debian's PostgreSQL.
    public static let defaultSocketDirectory = "/var/run/postgresql"

    /// Parses `url`.
    /// - Parameter password: the password (from a file or the environment), if any.
    /// - Throws: ``PostgresLocationError`` naming what is wrong.
    public init(url: String, password: String? = nil) throws(PostgresLocationError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw PostgresLocationError("not a postgres:// URL: \(Self.redacted(url))")
        }
        guard components.password == nil else {
            throw PostgresLocationError(
                "the URL holds a password: give it in a file (--store-password-file) or the environment (CONVLOG_STORE_PASSWORD) instead")
        }
        var parameters: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard let value = item.value else { throw PostgresLocationError("URL parameter \(item.name) has no value") }
            parameters[item.name] = value
        }
        let unknown = Set(parameters.keys).subtracting(["host", "port", "user", "dbname", "sslmode"])
        guard unknown.isEmpty else { throw PostgresLocationError("unknown URL parameter \(unknown.sorted().joined(separator: ", ")) (known: host, port, user, dbname, sslmode)") }
        let host = parameters["host"] ?? components.percentEncodedHost.flatMap { $0.removingPercentEncoding }.flatMap { $0.isEmpty ? nil : $0 }
        let portText = parameters["port"] ?? components.port.map(String.init)
        let port = try portText.map { text throws(PostgresLocationError) in
            guard let port = Int(text), (1...65_535).contains(port) else { throw PostgresLocationError("port \(text) is not a TCP port") }
            return port
        } ?? 5432
        let user = parameters["user"] ?? components.user.flatMap { $0.isEmpty ? nil : $0 } ?? Self.processUserName()
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        let database = parameters["dbname"] ?? (path.isEmpty ? user : path)
        guard !database.contains("/") else { throw PostgresLocationError("database name \(database) contains a /") }
        let directory = host ?? Self.defaultSocketDirectory
        if directory.hasPrefix("/") {
            endpoint = .unixSocket(path: "\(directory)/.s.PGSQL.\(port)")
            tlsMode = .disable
        } else {
            endpoint = .tcp(host: directory, port: port)
            guard let mode = TLSMode(rawValue: parameters["sslmode"] ?? "prefer") else {
                throw PostgresLocationError("sslmode \(parameters["sslmode"] ?? "") is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            tlsMode = mode
        }
        username = user
        self.database = database
        self.password = password
    }

    /// The location without secrets, for messages.
    public var description: String {
        switch endpoint {
        case .unixSocket(let path): "postgres://\(username)@/\(database)?host=\((path as NSString).deletingLastPathComponent)"
        case .tcp(let host, let port): "postgres://\(username)@\(host):\(port)/\(database)"
        }
    }

    /// The connection settings for postgres-nio.
    func configuration() throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        switch endpoint {
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: username, password: password, database: database)
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS
            switch tlsMode {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(5)
        // A daemon never waits long on another's lock or a stuck statement: it answers StoreUnavailable.
        configuration.options.additionalStartupParameters = [("lock_timeout", "10s"), ("statement_timeout", "30s"), ("application_name", "convlog")]
        return configuration
    }

    /// The URL with any password replaced, for an error message.
    private static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "(unreadable URL)"
    }

    private static func processUserName() -> String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "postgres" }
        return String(cString: name)
    }
}

/// A `postgres://` URL that cannot be used.
public struct PostgresLocationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
