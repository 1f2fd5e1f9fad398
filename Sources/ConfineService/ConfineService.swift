import Confine
import ConfinePolicy
import ConfineRuntime
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The service `confine serve` runs: Function Compute's InvokeFunction (sync and async),
/// direct execution (`/v1/exec`, and streamed), every request signed (ACS3-HMAC-SHA256),
/// authorised per key, admitted under a concurrency bound, recorded durably, measured.
public final class ConfineService: Sendable {
    public let configuration: ServiceConfiguration
    /// The audit log, nonces and asynchronous invocations: SQLite for one node, PostgreSQL for a fleet.
    public let store: any ServiceStore
    let runtime: FunctionRuntime?
    let catalog: PolicyCatalog
    let admission: Admission
    let limiter = RateLimiter()
    let replay: ReplayGuard
    let metrics = ServiceMetrics()
    let work = WorkTracker()
    let logger: Logger
    let worker: AsyncWorker
    private let started = Date()

    /// Opens the store, loads the policies and the functions.
    /// - Throws: `PolicyError`/`ConfineError` for a policy or function that does not load, the
    ///   store's error when the audit log cannot be opened, `ServiceError` for an unsupported store.
    public init(configuration: ServiceConfiguration, registry: HandlerRegistry = HandlerRegistry(),
                logger: Logger = Logger(label: "confine.serve")) async throws {
        self.configuration = configuration
        self.logger = logger
        do {
            store = try await ServiceStores.open(configuration.store, lease: configuration.asyncLease, logger: logger)
        } catch let error as StoreUnavailable {
            throw ServiceStartError(description: "\(error); the server does not start without its store")
        }
        // No command may see the service's configuration or audit store, whatever its policy
        // and working directory.
        let protected = configuration.protectedFiles
        let base = try Executor.standard().protecting(protected)
        var paths = configuration.policyPaths
        paths += PolicyReader.defaultSearchPaths().filter { !paths.contains($0) }
        catalog = try PolicyCatalog(searchPaths: paths, base: base)
        runtime = try configuration.functions.map { try FunctionRuntime(configuration: $0, registry: registry, protecting: protected) }
        admission = Admission(limit: configuration.concurrency, queueLimit: configuration.queueLimit)
        replay = ReplayGuard(window: configuration.clockSkew)
        worker = AsyncWorker(workers: max(1, configuration.concurrency / 2))
        worker.attach(self)
        store.onTaskEnqueued { [worker] in worker.wake() }
    }

    /// What a start does before the server takes requests: the nonces of requests signed before
    /// a restart stay refused for the whole clock-skew window, and asynchronous invocations a stop
    /// interrupted are queued again (the worker, a service of the application, then runs them).
    /// - Throws: the store's error when it cannot be read or written.
    func prepare() async throws {
        let window = Double(configuration.clockSkew.components.seconds) * 2 + 1
        replay.preload(try await store.nonces(since: Date().addingTimeInterval(-window)))
        let requeued = try await store.requeueInterrupted()
        if requeued > 0 { logger.notice("asynchronous invocations interrupted by a stop are queued again", metadata: ["count": "\(requeued)"]) }
    }

    // MARK: application

    /// The router: every route of `ServiceRoute`, the signed ones behind `SignatureAuthenticator`.
    public func router() -> Router<ServiceRequestContext> {
        let router = Router(context: ServiceRequestContext.self)
        router.add(middleware: FCErrorMiddleware())
        for route in ServiceRoute.allCases {
            let group = route.kind.map { router.group().add(middleware: SignatureAuthenticator(service: self, kind: $0)) } ?? router.group()
            group.on(RouterPath(route.path), method: route.method) { request, context in
                try await self.respond(to: route, request, context: context)
            }
        }
        return router
    }

    /// The handler of each route.
    private func respond(to route: ServiceRoute, _ request: Request, context: ServiceRequestContext) async throws -> Response {
        switch route {
        case .health:
            return Self.response(.ok, json: ["status": "ok"])
        case .metrics:
            metrics.queueDepth.set(Double(admission.queued))
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.text())))
        case .invoke:
            return try await invoke(request, signed: context.verified(), name: context.parameters.get("name") ?? "")
        case .asyncTask:
            return try await asyncTask(signed: context.verified(), name: context.parameters.get("name") ?? "",
                                       id: context.parameters.get("id") ?? "")
        case .exec:
            return try await exec(request, signed: context.verified(), streaming: false)
        case .execStream:
            return try await exec(request, signed: context.verified(), streaming: true)
        }
    }

    /// The Hummingbird application, apart from `@main` (tests drive it with `app.test`): before
    /// the server starts it runs `prepare()`; the asynchronous worker runs as its service.
    public func buildApplication(host: String = "127.0.0.1", port: Int = 9000) -> some ApplicationProtocol {
        var app = Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "confine"),
            services: [worker],
            logger: logger)
        app.beforeServerStarts { try await self.prepare() }
        return app
    }

    /// Runs until SIGTERM or SIGINT: then new connections are refused, in-flight work gets
    /// `grace` to finish, and whatever still runs is killed (its whole process tree) and recorded.
    /// - Throws: the error that stopped the server (an address in use, the store failing at start).
    public func run(host: String, port: Int) async throws {
        let app = buildApplication(host: host, port: port)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app), .init(service: GraceKeeper(service: self))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch let error as IOError {
            // NIO's text names its own call ("bind(descriptor:ptr:bytes:)"); say what failed for whom.
            let reason = String(cString: strerror(error.errnoCode))
            let hint = error.errnoCode == EADDRINUSE ? " (another process listens there: pick another --port)"
                : error.errnoCode == EACCES ? " (ports below 1024 need root)" : ""
            throw ServiceStartError(description: "cannot listen on \(host):\(port): \(reason)\(hint)")
        }
    }

    /// Stops admitting work and, after the grace period, kills what still runs.
    func beginShutdown() async {
        logger.notice("shutting down: finishing in-flight work", metadata: ["grace": "\(configuration.grace)", "inFlight": "\(work.count)"])
        admission.close()
        worker.stop()
        let deadline = ContinuousClock.now.advanced(by: configuration.grace)
        while work.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let killed = work.cancelAll()
        if killed > 0 { logger.warning("grace period over: killed in-flight work", metadata: ["count": "\(killed)"]) }
    }

    // MARK: the request pipeline

    /// What a signed request carries once read and verified.
    struct Signed {
        var requestID: String
        var key: ServiceConfiguration.Key
        var body: [UInt8]
        var nonce: String
        var arrived: ContinuousClock.Instant
    }

    static let requestIDHeader = HTTPField.Name("x-fc-request-id")!
    static let acsRetryAfter = HTTPField.Name("x-acs-retry-after")!

    /// Reads the body (bounded), verifies the signature, the clock, the nonce and the key's rate.
    /// - Throws: `ServiceError` naming what is wrong (401, 403, 413, 429, 400).
    func authenticate(_ request: Request, requestID: String, arrived: ContinuousClock.Instant) async throws -> Signed {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.bodyLimit {
            throw ServiceError(.contentTooLarge, "EntityTooLarge", "the request body is \(length) bytes; the limit is \(configuration.bodyLimit)")
        }
        let body: [UInt8]
        do {
            var buffer = try await request.body.collect(upTo: configuration.bodyLimit)
            body = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ServiceError(.contentTooLarge, "EntityTooLarge", "the request body is larger than the limit of \(configuration.bodyLimit) bytes")
        } catch where "\(type(of: error))".contains("TooManyBytes") {
            // A chunked body (no Content-Length) that grew past the limit.
            throw ServiceError(.contentTooLarge, "EntityTooLarge", "the request body is larger than the limit of \(configuration.bodyLimit) bytes")
        } catch {
            throw ServiceError(.badRequest, "IncompleteBody", "the request body could not be read: \(error)")
        }
        guard let authorization = request.headers[.authorization] else {
            throw ServiceError(.unauthorized, "MissingAuthorization",
                               "the request is not signed: expected an 'Authorization: ACS3-HMAC-SHA256 Credential=<key id>,SignedHeaders=...,Signature=...' header")
        }
        guard let parsed = ACS3Signature.parseAuthorization(authorization) else {
            throw ServiceError(.unauthorized, "InvalidAuthorization",
                               "the Authorization header is not ACS3-HMAC-SHA256 (accepted: 'ACS3-HMAC-SHA256 Credential=<key id>,SignedHeaders=<h1;h2>,Signature=<hex>')")
        }
        guard let key = configuration.keys[parsed.keyID] else {
            throw ServiceError(.forbidden, "InvalidAccessKeyID", "the access key '\(Self.printable(parsed.keyID))' does not exist")
        }
        var headers: [String: [String]] = [:]
        for field in request.headers { headers[field.name.canonicalName, default: []].append(field.value) }
        if let authority = request.head.authority { headers["host"] = [authority] }
        for required in ["host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"] where !parsed.signedHeaders.contains(required) {
            throw ServiceError(.forbidden, "InvalidSignature", "SignedHeaders must include '\(required)' (signed: \(parsed.signedHeaders.joined(separator: ";")))")
        }
        guard let dateText = headers["x-acs-date"]?.first, let date = ACS3Signature.parseDate(dateText) else {
            throw ServiceError(.forbidden, "InvalidDate", "x-acs-date is missing or not an ISO 8601 UTC time like 2026-11-25T00:44:12Z")
        }
        let skew = Double(configuration.clockSkew.components.seconds)
        guard abs(date.timeIntervalSinceNow) <= skew else {
            throw ServiceError(.forbidden, "RequestTimeTooSkewed",
                               "x-acs-date \(dateText) is more than \(Int(skew)) seconds from the server's time \(ACS3Signature.iso8601(Date()))")
        }
        let payloadHash = ACS3Signature.hexSHA256(body)
        guard headers["x-acs-content-sha256"]?.first?.lowercased() == payloadHash else {
            throw ServiceError(.forbidden, "ContentSHA256Mismatch", "x-acs-content-sha256 does not match the SHA-256 of the body")
        }
        let target = request.head.path ?? "/"
        let question = target.firstIndex(of: "?")
        let path = question.map { String(target[..<$0]) } ?? target
        let query = question.map { target[target.index(after: $0)...] } ?? ""
        let canonical = ACS3Signature.canonicalRequest(method: request.method.rawValue, path: path, rawQuery: query, headers: headers,
                                                       signedHeaders: parsed.signedHeaders, payloadHash: payloadHash)
        let expected = ACS3Signature.signature(secret: key.secret, canonicalRequest: canonical)
        guard Self.constantTimeEqual(expected, parsed.signature.lowercased()) else {
            throw ServiceError(.forbidden, "SignatureNotMatch", "the request signature does not match: check the access key secret and the canonical request")
        }
        guard let nonce = headers["x-acs-signature-nonce"]?.first, !nonce.isEmpty, nonce.utf8.count <= 128 else {
            throw ServiceError(.forbidden, "InvalidNonce", "x-acs-signature-nonce must be 1 to 128 characters")
        }
        guard replay.admit(keyID: key.id, nonce: nonce) else {
            throw ServiceError(.forbidden, "SignatureNonceUsed", "x-acs-signature-nonce '\(Self.printable(nonce))' was already used: the request is a replay")
        }
        if store.shared {
            // every node of the fleet: a request another node accepted is a replay here too
            let now = Date()
            let taken: Bool
            do {
                taken = try await store.claimNonce(keyID: key.id, nonce: nonce, at: now, notBefore: now.addingTimeInterval(-(2 * skew + 1)))
            } catch {
                throw Self.unavailable(error)
            }
            guard taken else {
                throw ServiceError(.forbidden, "SignatureNonceUsed", "x-acs-signature-nonce '\(Self.printable(nonce))' was already used (on this or another node): the request is a replay")
            }
        }
        if let wait = limiter.take(key) {
            throw ServiceError(.tooManyRequests, "ResourceExhausted", "access key '\(key.id)' is over its rate of \(key.rateLimit ?? 0) requests per second", retryAfter: wait)
        }
        return Signed(requestID: requestID, key: key, body: body, nonce: nonce, arrived: arrived)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }

    /// A string from a client, cut and stripped of control characters for messages and logs.
    static func printable(_ text: String) -> String {
        String(String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.map(Character.init)).prefix(128))
    }

    /// Answers a refused request: FC's error body, logged (never the secret), recorded, counted.
    func refuse(_ error: ServiceError, request: Request, context: ServiceRequestContext, kind: String, function: String?) async -> Response {
        let keyID = context.signed?.key.id ?? Self.claimedKey(request)
        logger.info("request refused", metadata: [
            "requestID": "\(context.requestID)", "status": "\(error.status.code)", "code": "\(error.code)",
            "path": "\(Self.printable(request.head.path ?? ""))", "key": "\(keyID.map(Self.printable) ?? "-")", "message": "\(error.message)",
        ])
        metrics.rejected(reason: error.outcome)
        let record = AuditRecord(requestID: context.requestID, keyID: keyID.map(Self.printable), kind: kind, function: function.map(Self.printable),
                                 outcome: error.outcome, duration: context.arrived.duration(to: .now).seconds,
                                 bytesIn: context.signed?.body.count ?? 0,
                                 httpStatus: error.status.code, message: "\(error.code): \(error.message)")
        // (a store that cannot be used cannot take the record either: the log line above is it)
        if error.code != "StoreUnavailable" {
            do { try await store.record(record) } catch {
                logger.error("audit log write failed", metadata: ["requestID": "\(context.requestID)", "error": "\(error)"])
            }
        }
        return (try? error.response(from: request, context: context)) ?? Response(status: error.status)
    }

    /// The key id a request claims (before verification): for the log of a refused request.
    static func claimedKey(_ request: Request) -> String? {
        request.headers[.authorization].flatMap(ACS3Signature.parseAuthorization)?.keyID
    }

    static func response(_ status: HTTPResponse.Status, json object: Any, requestID: String? = nil, extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/json"
        if let requestID { headers[requestIDHeader] = requestID }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func newRequestID() -> String { UUID().uuidString.lowercased() }

    /// Writes the record; a failure to write is an error answer, since the record must be durable first.
    func persist(_ record: AuditRecord) async -> ServiceError? {
        do {
            try await store.record(record)
            return nil
        } catch {
            logger.error("audit log write failed", metadata: ["requestID": "\(record.requestID)", "error": "\(error)"])
            let status: HTTPResponse.Status = error is StoreUnavailable ? .serviceUnavailable : .internalServerError
            return ServiceError(status, "AuditLogUnavailable", "the request ran but its audit record could not be written: \(error)")
        }
    }

    /// A store that cannot be used, as the answer: 503 with what is wrong; the node recovers
    /// when the store does.
    static func unavailable(_ error: any Error) -> ServiceError {
        if let error = error as? ServiceError { return error }
        return ServiceError(.serviceUnavailable, "StoreUnavailable", "\(error); retry later", retryAfter: 1)
    }
}

/// In-flight work that shutdown may have to kill.
final class WorkTracker: Sendable {
    private struct State {
        var next = 0
        var running: [Int: @Sendable () -> Void] = [:]
        var stopped = false
    }
    private let state = Mutex(State())

    var count: Int { state.withLock { $0.running.count } }

    /// Runs `body` as a task that `cancelAll` can cancel (cancelling a command kills its tree).
    func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        let (id, stopped) = state.withLock { s -> (Int, Bool) in
            s.next += 1
            s.running[s.next] = { task.cancel() }
            return (s.next, s.stopped)
        }
        if stopped { task.cancel() }
        defer { _ = state.withLock { $0.running.removeValue(forKey: id) } }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    /// Cancels everything running and anything started later; returns how many were running.
    @discardableResult
    func cancelAll() -> Int {
        let cancels = state.withLock { s -> [@Sendable () -> Void] in
            s.stopped = true
            return Array(s.running.values)
        }
        cancels.forEach { $0() }
        return cancels.count
    }
}

/// Waits for the signal to shut down, then runs the service's shutdown (grace, then kill).
struct GraceKeeper: Service {
    let service: ConfineService
    func run() async throws {
        try? await gracefulShutdown()
        await service.beginShutdown()
    }
}

/// Why a service cannot start, in one line for the person who starts it.
public struct ServiceStartError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
