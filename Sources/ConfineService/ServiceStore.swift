import Foundation
import Logging

/// Where a node keeps what must outlive a request: the audit log, the signatures' nonces and the
/// asynchronous invocations. Two implementations, one contract (the same test suite runs against
/// both): `AuditStore`, SQLite in a file, for one node; `PostgresStore`, PostgreSQL, shared by
/// the nodes of a fleet.
public protocol ServiceStore: AnyObject, Sendable {
    /// What and where, for messages: "SQLite /srv/confine/audit.sqlite",
    /// "PostgreSQL 10.0.0.5:5432/confine" (never a password).
    var location: String { get }
    /// Several nodes share it: every node checks nonces in it, and claims tasks under a lease.
    var shared: Bool { get }

    /// Writes a record; returns once it is durable (records arriving together share one commit).
    func record(_ record: AuditRecord) async throws
    /// Records, oldest first: at most `limit`, the newest ones, since `since`, of `keyID`.
    func records(since: Date?, keyID: String?, limit: Int) async throws -> [AuditRecord]
    /// (key id, nonce, time) of signed requests since a time: a node reloads them at start.
    func nonces(since: Date) async throws -> [(String, String, Date)]
    /// Takes a (key, nonce) pair for a signed request: false when a request with it was seen
    /// (by any node sharing the store) since `notBefore`.
    func claimNonce(keyID: String, nonce: String, at time: Date, notBefore: Date) async throws -> Bool

    /// Persists a new task (durably) with the audit record of its 202.
    /// - Throws: `ServiceError` 409 when the task id is taken.
    func enqueue(_ task: AsyncTask, audit: AuditRecord) async throws
    /// Takes the oldest task no node is running (or whose runner's lease ran out) and marks it
    /// running for this node.
    func claim() async throws -> AsyncTask?
    /// At start: tasks this store knows were left running by a stopped node go back to the queue
    /// (a single node's; a shared store leaves that to the leases). Returns how many.
    func requeueInterrupted() async throws -> Int
    /// Marks a claimed task succeeded or failed, with the audit record of the run, in one
    /// transaction. Returns false when this node no longer held the task (its lease ran out and
    /// another node took it): nothing is written then, so a result is written once.
    func finish(_ id: String, succeeded: Bool, result: [UInt8]?, error: String?, audit: AuditRecord) async throws -> Bool
    /// The task with this id, or nil.
    func task(_ id: String) async throws -> AsyncTask?
    /// How many tasks are queued or running.
    func pendingCount() async throws -> Int
    /// Calls `wake` when another node (or this one) enqueues a task, where the store can tell.
    func onTaskEnqueued(_ wake: @escaping @Sendable () -> Void)
    /// Stops background work and closes connections.
    func close() async
}

extension ServiceStore {
    public func records() async throws -> [AuditRecord] {
        try await records(since: nil, keyID: nil, limit: 10_000)
    }
}

/// Opens the store a configuration names.
public enum ServiceStores {
    /// - Parameters:
    ///   - lease: how long a claimed asynchronous task stays this node's without renewal (shared stores).
    /// - Throws: the store's error, naming it, when it cannot be opened, reached or migrated.
    public static func open(_ store: ServiceConfiguration.Store, lease: Duration = .seconds(30),
                            logger: Logger = Logger(label: "confine.store")) async throws -> any ServiceStore {
        switch store {
        case .sqlite(let path): return try AuditStore(path: path)
        case .postgres(let url): return try await PostgresStore(url: url, lease: lease, logger: logger)
        }
    }
}

/// The store cannot be reached or answered with an error: the request is answered 503 and the
/// node keeps serving; it recovers when the store does.
public struct StoreUnavailable: Error, CustomStringConvertible, Sendable {
    public var location: String
    public var reason: String
    public var description: String { "the store (\(location)) cannot be used: \(reason)" }
}
