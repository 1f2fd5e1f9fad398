import ConfineService
import Foundation
import Logging
import PostgresNIO
import Testing

/// The store contract, run against both implementations: SQLite always; PostgreSQL when
/// `CONFINE_TEST_POSTGRES` holds a database URL (scripts/test.sh starts a server and sets it).
/// Serialized: the PostgreSQL cases share one database, emptied before each.
@Suite(.serialized) struct StoreTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }
    static let postgresURL = ProcessInfo.processInfo.environment["CONFINE_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    /// The kinds this run can test: PostgreSQL only with a server.
    static let kinds: [Kind] = postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    static let quiet = Logger(label: "confine.store.test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A fresh store of `kind` (an empty database), and the location a second node would open.
    func open(_ kind: Kind, lease: Duration = .seconds(30)) async throws -> (any ServiceStore, ServiceConfiguration.Store) {
        switch kind {
        case .sqlite:
            let location = ServiceConfiguration.Store.sqlite(path: scratchDirectory() + "/audit.sqlite")
            return (try await ServiceStores.open(location, logger: Self.quiet), location)
        case .postgres:
            let url = try #require(Self.postgresURL)
            try await Self.sql(url, "DROP TABLE IF EXISTS audit, nonces, async_tasks, confine_schema")
            let location = ServiceConfiguration.Store.postgres(url: url)
            return (try await ServiceStores.open(location, lease: lease, logger: Self.quiet), location)
        }
    }

    /// Runs one statement on the test database, outside any store.
    static func sql(_ url: String, _ statement: String) async throws {
        let parts = try #require(URLComponents(string: url))
        let client = PostgresClient(configuration: .init(host: parts.host ?? "127.0.0.1", port: parts.port ?? 5432, username: parts.user ?? "",
                                                         password: parts.password, database: String(parts.path.dropFirst()), tls: .disable),
                                    backgroundLogger: quiet)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: statement))
            group.cancelAll()
        }
    }

    func record(_ id: String, key: String = "k1", nonce: String? = nil, time: Date = Date()) -> AuditRecord {
        AuditRecord(time: time, requestID: id, keyID: key, kind: "exec", argv: ["ls", "-l"], policy: "default", outcome: "ok",
                    exitStatus: 0, duration: 0.25, bytesIn: 3, bytesOut: 42, httpStatus: 200, nonce: nonce, message: "m")
    }

    @Test(arguments: kinds) func recordsAreDurableAndFiltered(_ kind: Kind) async throws {
        let (store, location) = try await open(kind)
        let old = Date().addingTimeInterval(-3600)
        // concurrent writers share commits; each returns once its record is stored
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 { group.addTask { try await store.record(self.record("r\(i)", key: i % 2 == 0 ? "even" : "odd")) } }
            try await group.waitForAll()
        }
        try await store.record(record("old", time: old))
        await store.close()
        // what a second opening (a restart, or another node) reads
        let reader = try await ServiceStores.open(location, logger: Self.quiet)
        let all = try await reader.records()
        #expect(all.count == 51)
        #expect(Set(all.map(\.requestID)).count == 51)
        let first = try #require(all.first { $0.requestID == "r0" })
        #expect(first.argv == ["ls", "-l"] && first.exitStatus == 0 && first.bytesOut == 42 && first.message == "m" && first.keyID == "even")
        #expect(try await reader.records(since: nil, keyID: "odd", limit: 100).count == 25)
        #expect(try await reader.records(since: old.addingTimeInterval(60), keyID: nil, limit: 100).count == 50, "all but the hour-old one")
        let newest = try await reader.records(since: nil, keyID: nil, limit: 3)
        #expect(newest.count == 3 && newest.last?.requestID == "old", "the newest three, oldest first: \(newest.map(\.requestID))")
        await reader.close()
    }

    @Test(arguments: kinds) func aNonceIsTakenOnce(_ kind: Kind) async throws {
        let (store, _) = try await open(kind)
        let now = Date(), window = now.addingTimeInterval(-1801)
        #expect(try await store.claimNonce(keyID: "k1", nonce: "n1", at: now, notBefore: window))
        #expect(try await !store.claimNonce(keyID: "k1", nonce: "n1", at: now, notBefore: window), "a replay")
        #expect(try await store.claimNonce(keyID: "k2", nonce: "n1", at: now, notBefore: window), "another key's nonce is its own")
        // seen before the window: a request with it is refused for its date anyway, so the nonce is free
        #expect(try await store.claimNonce(keyID: "k1", nonce: "n1", at: now.addingTimeInterval(1), notBefore: now.addingTimeInterval(0.5)))
        await store.close()
    }

    @Test(arguments: kinds) func aTaskIsClaimedOnceAndItsResultWrittenOnce(_ kind: Kind) async throws {
        let (store, location) = try await open(kind)
        let task = AsyncTask(id: "t1", function: "json-key", keyID: "k1", event: Array("{}".utf8))
        try await store.enqueue(task, audit: record("enqueue"))
        await #expect(throws: ServiceError.self) { try await store.enqueue(task, audit: self.record("again")) }
        #expect(try await store.pendingCount() == 1)
        let claimed = try #require(try await store.claim())
        #expect(claimed.id == "t1" && claimed.status == .running && claimed.attempts == 1 && claimed.event == Array("{}".utf8))
        #expect(try await store.claim() == nil, "a running task is not claimed twice")
        #expect(try await store.finish("t1", succeeded: true, result: Array("7".utf8), error: nil, audit: record("run")))
        #expect(try await !store.finish("t1", succeeded: false, result: nil, error: "late", audit: record("run-again")), "a result is written once")
        let done = try #require(try await store.task("t1"))
        #expect(done.status == .succeeded && done.result == Array("7".utf8) && done.error == nil && done.finished != nil)
        #expect(try await store.pendingCount() == 0)
        #expect(try await store.records().map(\.requestID) == ["enqueue", "run"])
        #expect(try await store.task("nope") == nil)
        await store.close()
        if case .sqlite = location {
            // one node: a task a stop left running is queued again at the next start
            let node = try await ServiceStores.open(location, logger: Self.quiet)
            try await node.enqueue(AsyncTask(id: "t2", function: "f", keyID: "k1", event: []), audit: record("e2"))
            _ = try await node.claim()
            #expect(try await node.requeueInterrupted() == 1)
            #expect(try await node.claim()?.attempts == 2)
            await node.close()
        }
    }

    // MARK: the fleet (a shared store)

    @Test func nodesShareNoncesAndTasks() async throws {
        guard Self.postgresURL != nil else { return }
        let (a, location) = try await open(.postgres, lease: .seconds(3))
        let b = try await ServiceStores.open(location, lease: .seconds(3), logger: Self.quiet)
        #expect(a.shared && b.shared)
        let now = Date()
        #expect(try await a.claimNonce(keyID: "k", nonce: "x", at: now, notBefore: now.addingTimeInterval(-1801)))
        #expect(try await !b.claimNonce(keyID: "k", nonce: "x", at: now, notBefore: now.addingTimeInterval(-1801)), "B refuses what A took")
        // LISTEN/NOTIFY: B hears A's enqueue
        let heard = Heard()
        b.onTaskEnqueued { heard.mark() }
        try await Task.sleep(for: .milliseconds(300))       // the listener's connection is up
        try await a.enqueue(AsyncTask(id: "shared", function: "f", keyID: "k", event: []), audit: record("q"))
        for _ in 0..<50 where !heard.marked { try await Task.sleep(for: .milliseconds(20)) }
        #expect(heard.marked, "node B was not woken by node A's enqueue")
        // A claims and dies (no more renewals): once its lease runs out, B runs the task
        #expect(try await a.claim()?.id == "shared")
        await a.close()
        #expect(try await b.claim() == nil, "A's lease still holds")
        try await Task.sleep(for: .seconds(4))
        let taken = try #require(try await b.claim())
        #expect(taken.id == "shared" && taken.attempts == 2)
        #expect(try await b.finish("shared", succeeded: true, result: [1], error: nil, audit: record("b-run")))
        // A, back from the dead, cannot write its stale result over B's
        let aAgain = try await ServiceStores.open(location, lease: .seconds(3), logger: Self.quiet)
        #expect(try await !aAgain.finish("shared", succeeded: false, result: nil, error: "stale", audit: record("a-run")))
        #expect(try await b.task("shared")?.result == [1])
        await b.close()
        await aAgain.close()
    }

    @Test func aNodeRenewsItsLeaseWhileItRuns() async throws {
        guard Self.postgresURL != nil else { return }
        let (a, location) = try await open(.postgres, lease: .seconds(3))
        let b = try await ServiceStores.open(location, lease: .seconds(3), logger: Self.quiet)
        try await a.enqueue(AsyncTask(id: "long", function: "f", keyID: "k", event: []), audit: record("q"))
        #expect(try await a.claim()?.id == "long")
        try await Task.sleep(for: .seconds(5))       // longer than the lease: A renewed it
        #expect(try await b.claim() == nil, "B took a task A still runs")
        #expect(try await a.finish("long", succeeded: true, result: [], error: nil, audit: record("done")))
        await a.close()
        await b.close()
    }

    @Test func aNewerSchemaIsRefusedAndAnUnreachableServerNamed() async throws {
        guard let url = Self.postgresURL else { return }
        let (store, location) = try await open(.postgres)
        await store.close()
        try await Self.sql(url, "UPDATE confine_schema SET version = 99")
        do {
            let newer = try await ServiceStores.open(location, logger: Self.quiet)
            await newer.close()
            Issue.record("a schema of version 99 was accepted")
        } catch let error as StoreUnavailable {
            #expect(error.description.contains("schema is version 99, newer than this Confine's (1)"), "\(error)")
        }
        try await Self.sql(url, "UPDATE confine_schema SET version = 1")
        // a port nothing listens on: a clear error within the deadline, naming the store
        var parts = try #require(URLComponents(string: url))
        parts.port = 1
        let started = ContinuousClock.now
        do {
            let none = try await ServiceStores.open(.postgres(url: parts.string ?? ""), logger: Self.quiet)
            await none.close()
            Issue.record("a server on port 1 was reached")
        } catch let error as StoreUnavailable {
            #expect(error.description.contains("PostgreSQL 127.0.0.1:1/confine") && !error.description.contains("confine-test"), "\(error)")
        }
        #expect(started.duration(to: .now) < .seconds(15))
    }
}

final class Heard: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var marked: Bool { lock.withLock { value } }
    func mark() { lock.withLock { value = true } }
}

@Suite struct ServiceConfigurationTests {
    /// Everything a configuration names is resolved when it is read: a misspelt policy in a
    /// key's grants stops the start with its file and line, not every request later.
    @Test func aGrantOfAnUnknownPolicyIsRefusedWhenRead() throws {
        let folder = scratchDirectory()
        let file = folder + "/service.json"
        try """
            { "version": 1, "auditLog": "audit.sqlite",
              "keys": { "k1": { "secret": "0123456789abcdef0123",
                                "policies": ["default", "defualt"] } } }
            """.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        do {
            _ = try ServiceConfiguration.load(file)
            Issue.record("a grant of 'defualt' was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("service.json:3: keys.k1.policies[1]: unknown policy 'defualt' (did you mean 'default'?)"), "\(text)")
        }
        // and a postgres URL that names no database is refused the same way
        try """
            { "version": 1, "auditLog": "postgres://confine@db.example",
              "keys": { "k1": { "secret": "0123456789abcdef0123", "policies": ["default"] } } }
            """.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { try ServiceConfiguration.load(file) }
    }
}
