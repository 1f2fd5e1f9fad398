import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The PostgreSQL store (postgres-nio), shared by every node of a fleet:
/// - audit records batched per transaction, committed (`synchronous_commit` as the server
///   has it, on by default) before the answer that reports them;
/// - nonces taken with `INSERT ... ON CONFLICT`, so a request one node saw is a replay to all;
/// - asynchronous invocations claimed with `SELECT ... FOR UPDATE SKIP LOCKED` under a lease
///   the node renews; a node that dies loses its claims when the lease runs out, and another
///   node runs the task; a result is written only by the node holding the claim;
/// - `LISTEN`/`NOTIFY` wakes the nodes' workers when a task is enqueued;
/// - a versioned schema: created or upgraded at start (under an advisory lock, so nodes that
///   start together do not race), a newer one refused.
/// Every operation has a deadline: a database that does not answer is `StoreUnavailable`.
public final class PostgresStore: ServiceStore, Sendable {
    /// The schema this version writes and reads.
    public static let schemaVersion = 1
    public let location: String
    public var shared: Bool { true }
    /// This node's name in the claims it holds (`claimed_by`).
    public let node: String
    let lease: Duration
    private let client: PostgresClient
    private let single: PostgresConnection.Configuration
    private let logger: Logger
    private let background = Mutex<[Task<Void, Never>]>([])
    private let wakers = Mutex<[@Sendable () -> Void]>([])
    private let claimsSincePrune = Mutex(0)
    /// Tasks this node claimed and has not finished: the leases worth renewing.
    private let held = Mutex(0)
    private let batcher: Batcher
    /// How long one operation may take before the store counts as unreachable.
    static let deadline: Duration = .seconds(5)

    /// Connects, then creates or upgrades the schema.
    /// - Parameter url: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]`;
    ///   without a password in the URL, `PGPASSWORD` from the environment.
    /// - Throws: `StoreUnavailable` naming the store when it cannot be reached or its schema is
    ///   newer than this version's; `ServiceStartError` for a URL that cannot be read.
    public init(url: String, lease: Duration = .seconds(30), logger: Logger) async throws {
        let (configuration, shown, single) = try Self.configuration(from: url)
        self.single = single
        let location = "PostgreSQL \(shown)"
        self.location = location
        node = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
        self.lease = lease
        self.logger = logger
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        batcher = Batcher { records in
            try await Self.bounded(location) {
                try await client.withTransaction(logger: logger) { connection in
                    for record in records { try await Self.insert(record, connection, logger: logger) }
                }
            }
        }
        background.withLock { $0.append(Task { await client.run() }) }
        do {
            // first one connection of its own, which says why when the server cannot be used
            if let problem = await diagnose() { throw StoreUnavailable(location: location, reason: problem) }
            try await migrate()
        } catch {
            await close()
            throw error
        }
        startBackgroundWork()
    }

    // MARK: connection

    /// The client's configuration from a URL, the URL as it may be shown (no password), and a
    /// single connection's configuration (to ask the server why, when the pool only times out).
    static func configuration(from url: String) throws -> (PostgresClient.Configuration, String, PostgresConnection.Configuration) {
        if let problem = ServiceConfiguration.Store.problem(postgresURL: url) { throw ServiceStartError(description: "auditLog \(problem)") }
        guard let parts = URLComponents(string: url), let host = parts.host, let user = parts.user?.removingPercentEncoding else {
            throw ServiceStartError(description: "auditLog '\(ServiceConfiguration.Store.redacted(url))' is not a PostgreSQL URL")
        }
        let database = String(parts.path.drop { $0 == "/" })
        let password = parts.password?.removingPercentEncoding ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        let mode = parts.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let port = parts.port ?? 5432
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: mode == "disable" ? .disable : mode == "require" ? .require(.makeClientConfiguration()) : .prefer(.makeClientConfiguration()))
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.maximumConnections = 16
        var single = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: .disable)
        if mode != "disable", let context = try? NIOSSLContext(configuration: .makeClientConfiguration()) {
            single = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database,
                                                      tls: mode == "require" ? .require(context) : .prefer(context))
        }
        single.options.connectTimeout = .seconds(3)
        return (configuration, "\(host):\(port)/\(database)", single)
    }

    /// Why the server cannot be used, asked with one connection of its own (the pool retries
    /// quietly, so an operation only times out): "connection refused", "password authentication
    /// failed", "database ... does not exist"; nil when a connection can be made.
    func diagnose() async -> String? {
        let single = single
        return try? await Self.bounded(location) {
            do {
                let connection = try await PostgresConnection.connect(configuration: single, id: 0, logger: Logger(label: "confine.store.diagnose", factory: { _ in SwiftLogNoOpLogHandler() }))
                try? await connection.close()
                return nil as String?
            } catch {
                return Self.reason(error)
            }
        } ?? nil
    }

    /// Runs `operation` within the store's deadline; any failure is `StoreUnavailable` with a
    /// reason a person can act on, except the service's own errors.
    static func bounded<T: Sendable>(_ location: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            // a race the deadline wins even when the operation does not heed cancellation (a
            // connection that is still being made): the operation is then abandoned, cancelled
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let answer = Answer(continuation)
                let work = Task {
                    do { answer.resume(with: .success(try await operation())) } catch { answer.resume(with: .failure(error)) }
                }
                Task {
                    try? await Task.sleep(for: deadline)
                    if answer.resume(with: .failure(StoreUnavailable(location: location, reason: "no answer within \(deadline.components.seconds) seconds"))) {
                        work.cancel()
                    }
                }
            }
        } catch let error as ServiceError {
            throw error
        } catch let error as StoreUnavailable {
            throw error
        } catch let error as PostgresTransactionError {
            // the service's own refusal inside a transaction (a task id taken) stays itself
            if let refusal = error.closureError as? ServiceError { throw refusal }
            let cause = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
            throw StoreUnavailable(location: location, reason: cause.map(reason) ?? "the transaction failed")
        } catch {
            throw StoreUnavailable(location: location, reason: reason(error))
        }
    }

    func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await Self.bounded(location, operation)
        } catch let error as StoreUnavailable where error.reason.hasPrefix("no answer within") {
            // the pool only timed out: one connection of our own says why (refused, a password, ...)
            guard let why = await diagnose() else { throw error }
            throw StoreUnavailable(location: location, reason: why)
        }
    }

    /// What went wrong, from postgres-nio's error: the server's message, or the connection's trouble.
    static func reason(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return connectionReason(error) }
        if psql.code == .connectionError, let underlying = psql.underlying { return reason(underlying) }
        if let message = psql.serverInfo?[.message] {
            return message + (psql.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
        }
        if let underlying = psql.underlying { return "\(psql.code): \(reason(underlying))" }
        return "\(psql.code)"
    }

    // MARK: schema

    /// Creates the tables, or upgrades an older schema; refuses a newer one.
    func migrate() async throws {
        let location = location
        let version: Int = try await bounded { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                // one node at a time: two that start together must not both create the tables
                try await connection.query("SELECT pg_advisory_xact_lock(7463)", logger: logger)
                try await connection.query("CREATE TABLE IF NOT EXISTS confine_schema (version integer NOT NULL)", logger: logger)
                var found: Int?
                for try await value in try await connection.query("SELECT version FROM confine_schema", logger: logger).decode(Int.self) {
                    found = value
                }
                if let found, found > Self.schemaVersion { return found }
                if (found ?? 0) < 1 {
                    try await connection.query("""
                        CREATE TABLE audit (
                            id bigserial PRIMARY KEY,
                            time double precision NOT NULL, request_id text NOT NULL, key_id text, kind text NOT NULL,
                            function text, argv text, policy text, outcome text NOT NULL, exit_status integer,
                            signal integer, refused_syscall text, duration double precision NOT NULL, bytes_in bigint NOT NULL,
                            bytes_out bigint NOT NULL, http_status integer NOT NULL, nonce text, message text)
                        """, logger: logger)
                    try await connection.query("CREATE INDEX audit_time ON audit (time)", logger: logger)
                    try await connection.query("CREATE INDEX audit_key_time ON audit (key_id, time)", logger: logger)
                    try await connection.query("""
                        CREATE TABLE nonces (key_id text NOT NULL, nonce text NOT NULL, time double precision NOT NULL,
                                             PRIMARY KEY (key_id, nonce))
                        """, logger: logger)
                    try await connection.query("""
                        CREATE TABLE async_tasks (
                            id text PRIMARY KEY, function text NOT NULL, key_id text NOT NULL, event bytea NOT NULL,
                            status text NOT NULL, created double precision NOT NULL, started double precision,
                            finished double precision, result bytea, error text, attempts integer NOT NULL DEFAULT 0,
                            claimed_by text, lease_until double precision)
                        """, logger: logger)
                    try await connection.query("CREATE INDEX async_pending ON async_tasks (status, created)", logger: logger)
                    try await connection.query("DELETE FROM confine_schema", logger: logger)
                    try await connection.query("INSERT INTO confine_schema (version) VALUES (\(Self.schemaVersion))", logger: logger)
                }
                return Self.schemaVersion
            }
        }
        guard version <= Self.schemaVersion else {
            throw StoreUnavailable(location: location, reason: "its schema is version \(version), newer than this Confine's (\(Self.schemaVersion)): run a Confine as new as the nodes that upgraded it")
        }
    }

    // MARK: background

    /// Renews this node's claims (a third of the lease), forgets old nonces, and listens for
    /// enqueued tasks.
    private func startBackgroundWork() {
        let renew = Task { [weak self] in
            while !Task.isCancelled {
                guard let self else { return }
                let interval = self.lease / 3
                if self.held.withLock({ $0 }) == 0 {
                    try? await Task.sleep(for: interval)
                    continue
                }
                do {
                    let node = self.node
                    let seconds = Double(self.lease.components.seconds)
                    try await self.bounded { [client] in
                        _ = try await client.query("""
                            UPDATE async_tasks SET lease_until = extract(epoch from clock_timestamp()) + \(seconds)
                            WHERE claimed_by = \(node) AND status = 'Running'
                            """)
                    }
                } catch {
                    self.logger.warning("cannot renew the leases of running asynchronous invocations", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
        let listen = Task { [weak self] in
            while !Task.isCancelled {
                guard let client = self?.client else { return }
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: "confine_tasks") { notifications in
                            for try await _ in notifications { self?.wakeAll() }
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        background.withLock { $0 += [renew, listen] }
    }

    private func wakeAll() {
        for wake in wakers.withLock({ $0 }) { wake() }
    }

    public func onTaskEnqueued(_ wake: @escaping @Sendable () -> Void) {
        wakers.withLock { $0.append(wake) }
    }

    public func close() async {
        let tasks = background.withLock { tasks -> [Task<Void, Never>] in
            defer { tasks = [] }
            return tasks
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    // MARK: audit

    public func record(_ record: AuditRecord) async throws {
        try await batcher.write(record)
    }

    static func insert(_ r: AuditRecord, _ connection: PostgresConnection, logger: Logger) async throws {
        let argv = try r.argv.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try await connection.query("""
            INSERT INTO audit (time, request_id, key_id, kind, function, argv, policy, outcome, exit_status, signal,
                               refused_syscall, duration, bytes_in, bytes_out, http_status, nonce, message)
            VALUES (\(r.time.timeIntervalSince1970), \(r.requestID), \(r.keyID), \(r.kind), \(r.function), \(argv), \(r.policy),
                    \(r.outcome), \(r.exitStatus), \(r.signal), \(r.refusedSyscall), \(r.duration), \(r.bytesIn), \(r.bytesOut),
                    \(r.httpStatus), \(r.nonce), \(r.message))
            """, logger: logger)
    }

    public func records(since: Date?, keyID: String?, limit: Int) async throws -> [AuditRecord] {
        let after = since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude
        return try await bounded { [client] in
            var records: [AuditRecord] = []
            let rows = try await client.query("""
                SELECT time, request_id, key_id, kind, function, argv, policy, outcome, exit_status, signal, refused_syscall,
                       duration, bytes_in, bytes_out, http_status, nonce, message
                FROM audit WHERE time >= \(after) AND (\(keyID)::text IS NULL OR key_id = \(keyID))
                ORDER BY id DESC LIMIT \(limit)
                """)
            for try await row in rows {
                let cells = row.makeRandomAccess()
                let argvText = try cells["argv"].decode(String?.self)
                records.append(AuditRecord(
                    time: Date(timeIntervalSince1970: try cells["time"].decode(Double.self)),
                    requestID: try cells["request_id"].decode(String.self), keyID: try cells["key_id"].decode(String?.self),
                    kind: try cells["kind"].decode(String.self), function: try cells["function"].decode(String?.self),
                    argv: argvText.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) },
                    policy: try cells["policy"].decode(String?.self), outcome: try cells["outcome"].decode(String.self),
                    exitStatus: try cells["exit_status"].decode(Int32?.self), signal: try cells["signal"].decode(Int32?.self),
                    refusedSyscall: try cells["refused_syscall"].decode(String?.self), duration: try cells["duration"].decode(Double.self),
                    bytesIn: try cells["bytes_in"].decode(Int.self), bytesOut: try cells["bytes_out"].decode(Int.self),
                    httpStatus: try cells["http_status"].decode(Int.self), nonce: try cells["nonce"].decode(String?.self),
                    message: try cells["message"].decode(String?.self)))
            }
            return records.reversed()
        }
    }

    public func nonces(since: Date) async throws -> [(String, String, Date)] {
        try await bounded { [client] in
            var found: [(String, String, Date)] = []
            let rows = try await client.query("SELECT key_id, nonce, time FROM nonces WHERE time >= \(since.timeIntervalSince1970)")
            for try await (key, nonce, time) in rows.decode((String, String, Double).self) {
                found.append((key, nonce, Date(timeIntervalSince1970: time)))
            }
            return found
        }
    }

    public func claimNonce(keyID: String, nonce: String, at time: Date, notBefore: Date) async throws -> Bool {
        let now = time.timeIntervalSince1970, cutoff = notBefore.timeIntervalSince1970
        let prune = claimsSincePrune.withLock { count -> Bool in
            count += 1
            if count >= 1000 { count = 0; return true }
            return false
        }
        return try await bounded { [client] in
            if prune { _ = try await client.query("DELETE FROM nonces WHERE time < \(cutoff)") }
            // new, or seen so long ago that a request with it is refused for its date anyway
            let rows = try await client.query("""
                INSERT INTO nonces (key_id, nonce, time) VALUES (\(keyID), \(nonce), \(now))
                ON CONFLICT (key_id, nonce) DO UPDATE SET time = EXCLUDED.time WHERE nonces.time < \(cutoff)
                RETURNING 1
                """)
            var taken = false
            for try await _ in rows { taken = true }
            return taken
        }
    }

    // MARK: async tasks

    public func enqueue(_ task: AsyncTask, audit: AuditRecord) async throws {
        try await bounded { [client, logger] in
                try await client.withTransaction(logger: logger) { connection in
                    let inserted = try await connection.query("""
                        INSERT INTO async_tasks (id, function, key_id, event, status, created, attempts)
                        VALUES (\(task.id), \(task.function), \(task.keyID), \(Data(task.event)), \(task.status.rawValue),
                                \(task.created.timeIntervalSince1970), 0)
                        ON CONFLICT (id) DO NOTHING RETURNING 1
                        """, logger: logger)
                    var fresh = false
                    for try await _ in inserted { fresh = true }
                    guard fresh else {
                        throw ServiceError(.conflict, "AsyncTaskAlreadyExists", "an asynchronous task with id '\(task.id)' already exists")
                    }
                    try await Self.insert(audit, connection, logger: logger)
                    try await connection.query("SELECT pg_notify('confine_tasks', '')", logger: logger)
                }
        }
    }

    public func claim() async throws -> AsyncTask? {
        let node = node
        let seconds = Double(lease.components.seconds)
        let claimed: AsyncTask? = try await bounded { [client] in
            let rows = try await client.query("""
                UPDATE async_tasks SET status = 'Running', started = extract(epoch from clock_timestamp()),
                       attempts = attempts + 1, claimed_by = \(node),
                       lease_until = extract(epoch from clock_timestamp()) + \(seconds)
                WHERE id = (SELECT id FROM async_tasks
                            WHERE status = 'Enqueued'
                               OR (status = 'Running' AND lease_until < extract(epoch from clock_timestamp()))
                            ORDER BY created LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING id, function, key_id, event, status, created, started, finished, result, error, attempts
                """)
            for try await row in rows { return try Self.task(from: row) }
            return nil
        }
        if claimed != nil { held.withLock { $0 += 1 } }
        return claimed
    }

    /// A shared store does not requeue at start: another node may be running those tasks; the
    /// leases say when a task's runner is gone.
    public func requeueInterrupted() async throws -> Int { 0 }

    public func finish(_ id: String, succeeded: Bool, result: [UInt8]?, error: String?, audit: AuditRecord) async throws -> Bool {
        let node = node
        defer { held.withLock { $0 = max(0, $0 - 1) } }
        let status = (succeeded ? AsyncTask.Status.succeeded : .failed).rawValue
        return try await bounded { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                let updated = try await connection.query("""
                    UPDATE async_tasks SET status = \(status), finished = extract(epoch from clock_timestamp()),
                           result = \(result.map { Data($0) }), error = \(error), lease_until = NULL
                    WHERE id = \(id) AND status = 'Running' AND claimed_by = \(node)
                    RETURNING 1
                    """, logger: logger)
                var held = false
                for try await _ in updated { held = true }
                guard held else { return false }
                try await Self.insert(audit, connection, logger: logger)
                return true
            }
        }
    }

    public func task(_ id: String) async throws -> AsyncTask? {
        try await bounded { [client] in
            let rows = try await client.query("""
                SELECT id, function, key_id, event, status, created, started, finished, result, error, attempts
                FROM async_tasks WHERE id = \(id)
                """)
            for try await row in rows { return try Self.task(from: row) }
            return nil
        }
    }

    public func pendingCount() async throws -> Int {
        try await bounded { [client] in
            for try await count in try await client.query("SELECT count(*) FROM async_tasks WHERE status IN ('Enqueued', 'Running')").decode(Int.self) {
                return count
            }
            return 0
        }
    }

    static func task(from row: PostgresRow) throws -> AsyncTask {
        let cells = row.makeRandomAccess()
        return AsyncTask(
            id: try cells["id"].decode(String.self), function: try cells["function"].decode(String.self),
            keyID: try cells["key_id"].decode(String.self), event: [UInt8](try cells["event"].decode(Data.self)),
            status: AsyncTask.Status(rawValue: try cells["status"].decode(String.self)) ?? .failed,
            created: Date(timeIntervalSince1970: try cells["created"].decode(Double.self)),
            started: try cells["started"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)),
            finished: try cells["finished"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)),
            result: try cells["result"].decode(Data?.self).map { [UInt8]($0) }, error: try cells["error"].decode(String?.self),
            attempts: try cells["attempts"].decode(Int.self))
    }
}

/// A continuation resumed once, by whichever of the operation and the deadline comes first.
private final class Answer<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = Mutex(continuation) }

    /// True when this call resumed it.
    @discardableResult
    func resume(with result: Result<T, any Error>) -> Bool {
        guard let waiting = continuation.withLock({ value -> CheckedContinuation<T, any Error>? in
            defer { value = nil }
            return value
        }) else { return false }
        waiting.resume(with: result)
        return true
    }
}

/// What a failed connection means, in words: the system's text for the errno NIO's errors
/// carry ("Connection refused", not "connection reset (error set): ...) (errno: 111)"), else
/// the error's own text. Shared by the store and `confine remote`.
public func connectionReason(_ error: any Error) -> String {
    if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
    let text = "\(error)"
    if let range = text.range(of: "errno: "), let code = Int32(text[range.upperBound...].prefix { $0.isNumber }) {
        return String(cString: strerror(code))
    }
    return text
}
