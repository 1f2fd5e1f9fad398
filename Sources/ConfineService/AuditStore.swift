import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB
import Synchronization

/// One line of the audit log: an invocation, an execution, or a refused request.
public struct AuditRecord: Codable, Sendable, Equatable {
    public var time: Date
    public var requestID: String
    /// The access key that signed the request; nil when the request named none (unsigned).
    public var keyID: String?
    /// invoke | invoke-async | exec | exec-stream | task | denied | rejected
    public var kind: String
    public var function: String?
    public var argv: [String]?
    public var policy: String?
    /// ok | nonzero | signal | timeout | output-limit | refused | error | handler-error |
    /// disconnected | unauthorized | forbidden | bad-request | overloaded | rate-limited | queued
    public var outcome: String
    public var exitStatus: Int32?
    public var signal: Int32?
    /// The first syscall the policy refused, e.g. "socket(AF_INET, SOCK_STREAM, 0)".
    public var refusedSyscall: String?
    /// Seconds from the request's arrival to its answer.
    public var duration: Double
    public var bytesIn: Int
    public var bytesOut: Int
    public var httpStatus: Int
    public var nonce: String?
    public var message: String?

    public init(time: Date = Date(), requestID: String, keyID: String?, kind: String, function: String? = nil,
                argv: [String]? = nil, policy: String? = nil, outcome: String, exitStatus: Int32? = nil,
                signal: Int32? = nil, refusedSyscall: String? = nil, duration: Double = 0, bytesIn: Int = 0,
                bytesOut: Int = 0, httpStatus: Int, nonce: String? = nil, message: String? = nil) {
        self.time = time
        self.requestID = requestID
        self.keyID = keyID
        self.kind = kind
        self.function = function
        self.argv = argv
        self.policy = policy
        self.outcome = outcome
        self.exitStatus = exitStatus
        self.signal = signal
        self.refusedSyscall = refusedSyscall
        self.duration = duration
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.httpStatus = httpStatus
        self.nonce = nonce
        self.message = message
    }
}

/// An asynchronous invocation, persisted before the 202 and run by the worker.
public struct AsyncTask: Sendable, Equatable {
    public enum Status: String, Sendable { case enqueued = "Enqueued", running = "Running", succeeded = "Succeeded", failed = "Failed" }
    public var id: String
    public var function: String
    public var keyID: String
    public var event: [UInt8]
    public var status: Status
    public var created: Date
    public var started: Date?
    public var finished: Date?
    public var result: [UInt8]?
    /// FC's error JSON when the handler failed.
    public var error: String?
    /// How many times a worker has started the task (more than 1 after a restart).
    public var attempts: Int

    public init(id: String, function: String, keyID: String, event: [UInt8], status: Status = .enqueued, created: Date = Date(),
                started: Date? = nil, finished: Date? = nil, result: [UInt8]? = nil, error: String? = nil, attempts: Int = 0) {
        self.id = id
        self.function = function
        self.keyID = keyID
        self.event = event
        self.status = status
        self.created = created
        self.started = started
        self.finished = finished
        self.result = result
        self.error = error
        self.attempts = attempts
    }
}

/// The audit log and the async task queue, in SQLite (WAL, synchronous=FULL: a record is on
/// disk before the response that reports it). Concurrent writers are batched into one
/// transaction (group commit), so durability costs one fsync per batch, not per request.
/// The SQLite store: one node's audit log, nonces and asynchronous invocations in one file
/// (GRDB, WAL, `synchronous=FULL`).
public final class AuditStore: ServiceStore, Sendable {
    public let path: String
    private let pool: DatabasePool
    private let batcher: Batcher
    /// Nonces taken since this store was opened (the audit log holds the older ones).
    private let taken = Mutex([String: Date]())

    public var location: String { "SQLite \(path)" }
    public var shared: Bool { false }

    /// Opens (creating if needed) the store.
    /// - Throws: GRDB's error, with the path, when the file cannot be opened or migrated.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA busy_timeout = 5000")
        }
        configuration.label = "confine.audit"
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        // The log names keys, commands and arguments: readable by this user only. SQLite gives
        // the -wal and -shm files the database file's mode.
        for file in [path, path + "-wal", path + "-shm"] {
            let fd = open(file, O_RDWR | O_CLOEXEC | (file == path ? O_CREAT : 0), 0o600)
            if fd >= 0 { _ = fchmod(fd, 0o600); Glibc.close(fd) }
        }
        let database = try DatabasePool(path: path, configuration: configuration)
        pool = database
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time REAL NOT NULL, request_id TEXT NOT NULL, key_id TEXT, kind TEXT NOT NULL,
                    function TEXT, argv TEXT, policy TEXT, outcome TEXT NOT NULL, exit_status INTEGER,
                    signal INTEGER, refused_syscall TEXT, duration REAL NOT NULL, bytes_in INTEGER NOT NULL,
                    bytes_out INTEGER NOT NULL, http_status INTEGER NOT NULL, nonce TEXT, message TEXT);
                CREATE INDEX audit_time ON audit(time);
                CREATE INDEX audit_key_time ON audit(key_id, time);
                CREATE TABLE async_tasks (
                    id TEXT PRIMARY KEY, function TEXT NOT NULL, key_id TEXT NOT NULL, event BLOB NOT NULL,
                    status TEXT NOT NULL, created REAL NOT NULL, started REAL, finished REAL, result BLOB,
                    error TEXT, attempts INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX async_pending ON async_tasks(status, created);
                """)
        }
        try migrator.migrate(database)
        batcher = Batcher { records in
            try await database.write { db in
                for record in records { try AuditStore.insert(record, db) }
            }
        }
    }

    // MARK: audit

    /// Writes a record; returns once it is durable.
    /// - Throws: the database's error (GRDB `DatabaseError`) when it cannot be written.
    public func record(_ record: AuditRecord) async throws {
        try await batcher.write(record)
    }

    /// Records, oldest first: at most `limit`, the newest ones, since `since`, of `keyID`.
    /// - Throws: the database's error when it cannot be read.
    public func records(since: Date?, keyID: String?, limit: Int) async throws -> [AuditRecord] {
        try await pool.read { db in
            var sql = "SELECT * FROM audit WHERE 1=1"
            var arguments: StatementArguments = []
            if let since { sql += " AND time >= ?"; arguments += [since.timeIntervalSince1970] }
            if let keyID { sql += " AND key_id = ?"; arguments += [keyID] }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).reversed().map(Self.record(from:))
        }
    }

    /// (key id, nonce, time) of signed requests since a time: the replay guard reloads them at start-up.
    /// - Throws: the database's error when it cannot be read.
    public func nonces(since: Date) async throws -> [(String, String, Date)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT key_id, nonce, time FROM audit WHERE nonce IS NOT NULL AND key_id IS NOT NULL AND time >= ?",
                             arguments: [since.timeIntervalSince1970])
                .map { (row: Row) -> (String, String, Date) in (row["key_id"], row["nonce"], Date(timeIntervalSince1970: row["time"])) }
        }
    }

    static func insert(_ r: AuditRecord, _ db: Database) throws {
        let argv = try r.argv.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try db.execute(sql: """
            INSERT INTO audit (time, request_id, key_id, kind, function, argv, policy, outcome, exit_status, signal,
                               refused_syscall, duration, bytes_in, bytes_out, http_status, nonce, message)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [r.time.timeIntervalSince1970, r.requestID, r.keyID, r.kind, r.function, argv, r.policy, r.outcome,
                             r.exitStatus, r.signal, r.refusedSyscall, r.duration, r.bytesIn, r.bytesOut, r.httpStatus, r.nonce, r.message])
    }

    static func record(from row: Row) -> AuditRecord {
        let argvText: String? = row["argv"]
        return AuditRecord(
            time: Date(timeIntervalSince1970: row["time"]), requestID: row["request_id"], keyID: row["key_id"], kind: row["kind"],
            function: row["function"], argv: argvText.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) },
            policy: row["policy"], outcome: row["outcome"], exitStatus: row["exit_status"], signal: row["signal"],
            refusedSyscall: row["refused_syscall"], duration: row["duration"], bytesIn: row["bytes_in"], bytesOut: row["bytes_out"],
            httpStatus: row["http_status"], nonce: row["nonce"], message: row["message"])
    }

    public func claimNonce(keyID: String, nonce: String, at time: Date, notBefore: Date) async throws -> Bool {
        let key = "\(keyID)\u{0}\(nonce)"
        let fresh = taken.withLock { seen -> Bool in
            if let last = seen[key], last >= notBefore { return false }
            seen[key] = time
            if seen.count > 100_000 { seen = seen.filter { $0.value >= notBefore } }
            return true
        }
        guard fresh else { return false }
        let recorded = try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM audit WHERE key_id = ? AND nonce = ? AND time >= ?)",
                              arguments: [keyID, nonce, notBefore.timeIntervalSince1970]) ?? false
        }
        return !recorded
    }

    public func onTaskEnqueued(_ wake: @escaping @Sendable () -> Void) {}

    public func close() async {}

    // MARK: async tasks

    /// Persists a new task (durably) before the 202 goes out.
    /// - Throws: `ServiceError` 409 when the task id is taken.
    public func enqueue(_ task: AsyncTask, audit: AuditRecord) async throws {
        do {
            try await pool.write { db in
                try db.execute(sql: """
                    INSERT INTO async_tasks (id, function, key_id, event, status, created, attempts) VALUES (?, ?, ?, ?, ?, ?, 0)
                    """, arguments: [task.id, task.function, task.keyID, Data(task.event), task.status.rawValue, task.created.timeIntervalSince1970])
                try Self.insert(audit, db)
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw ServiceError(.conflict, "AsyncTaskAlreadyExists", "an asynchronous task with id '\(task.id)' already exists")
        }
    }

    /// Takes the oldest enqueued task and marks it running. Tasks left running by a server that
    /// stopped are enqueued again first (`requeueInterrupted`).
    /// - Throws: the database's error when it cannot be written.
    public func claim() async throws -> AsyncTask? {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM async_tasks WHERE status = ? ORDER BY created LIMIT 1",
                                             arguments: [AsyncTask.Status.enqueued.rawValue]) else { return nil }
            var task = Self.task(from: row)
            task.status = .running
            task.started = Date()
            task.attempts += 1
            try db.execute(sql: "UPDATE async_tasks SET status = ?, started = ?, attempts = ? WHERE id = ?",
                           arguments: [task.status.rawValue, task.started?.timeIntervalSince1970, task.attempts, task.id])
            return task
        }
    }

    /// At start-up: tasks a stopped server left running go back to the queue.
    /// - Returns: how many went back.
    /// - Throws: the database's error when it cannot be written.
    @discardableResult
    public func requeueInterrupted() async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "UPDATE async_tasks SET status = ? WHERE status = ?",
                           arguments: [AsyncTask.Status.enqueued.rawValue, AsyncTask.Status.running.rawValue])
            return db.changesCount
        }
    }

    /// Marks a task succeeded or failed with its result or error, and writes its audit record in
    /// the same transaction.
    /// - Throws: the database's error when it cannot be written.
    @discardableResult
    public func finish(_ id: String, succeeded: Bool, result: [UInt8]?, error: String?, audit: AuditRecord) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE async_tasks SET status = ?, finished = ?, result = ?, error = ? WHERE id = ? AND status = ?",
                           arguments: [(succeeded ? AsyncTask.Status.succeeded : .failed).rawValue, Date().timeIntervalSince1970,
                                       result.map { Data($0) }, error, id, AsyncTask.Status.running.rawValue])
            guard db.changesCount == 1 else { return false }
            try Self.insert(audit, db)
            return true
        }
    }

    /// The task with this id, or nil.
    /// - Throws: the database's error when it cannot be read.
    public func task(_ id: String) async throws -> AsyncTask? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM async_tasks WHERE id = ?", arguments: [id]).map(Self.task(from:))
        }
    }

    /// How many tasks are queued or running.
    /// - Throws: the database's error when it cannot be read.
    public func pendingCount() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM async_tasks WHERE status IN (?, ?)",
                             arguments: [AsyncTask.Status.enqueued.rawValue, AsyncTask.Status.running.rawValue]) ?? 0
        }
    }

    static func task(from row: Row) -> AsyncTask {
        let event: Data = row["event"] ?? Data()
        let result: Data? = row["result"]
        let started: Double? = row["started"]
        let finished: Double? = row["finished"]
        return AsyncTask(
            id: row["id"], function: row["function"], keyID: row["key_id"], event: [UInt8](event),
            status: AsyncTask.Status(rawValue: row["status"]) ?? .failed, created: Date(timeIntervalSince1970: row["created"]),
            started: started.map(Date.init(timeIntervalSince1970:)), finished: finished.map(Date.init(timeIntervalSince1970:)),
            result: result.map { [UInt8]($0) }, error: row["error"], attempts: row["attempts"])
    }
}

/// Group commit: records that arrive while a transaction is being written go together into the next.
actor Batcher {
    private let commit: @Sendable ([AuditRecord]) async throws -> Void
    private var pending: [(AuditRecord, CheckedContinuation<Void, any Error>)] = []
    private var draining = false

    /// - Parameter commit: writes a batch in one transaction, durably.
    init(commit: @escaping @Sendable ([AuditRecord]) async throws -> Void) { self.commit = commit }

    func write(_ record: AuditRecord) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pending.append((record, continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = pending
            pending = []
            let records = batch.map(\.0)
            do {
                try await commit(records)
                for (_, continuation) in batch { continuation.resume() }
            } catch {
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
        }
        draining = false
    }
}
