import HTTPTypes
import Hummingbird

/// The request context of every route: Hummingbird's core context, an id for the request (the
/// `x-fc-request-id` of the answer and the audit record), when it arrived, and — once
/// `SignatureAuthenticator` has verified it — the signed request: the access key and the body.
public struct ServiceRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The id of the request, as its answer and its audit record carry it.
    public let requestID: String
    /// When the request arrived, for the durations in records and metrics.
    public let arrived: ContinuousClock.Instant
    /// The verified request; nil on routes no authenticator guards, or before verification.
    var signed: ConfineService.Signed?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        requestID = ConfineService.newRequestID()
        arrived = .now
    }

    /// The signed request of a route `SignatureAuthenticator` guards.
    /// - Throws: `ServiceError` 500 when the route is not guarded (a wiring mistake, never a client's).
    func verified() throws -> ConfineService.Signed {
        guard let signed else {
            throw ServiceError(.internalServerError, "InternalError", "the route was reached without a verified signature")
        }
        return signed
    }
}

/// Verifies the ACS3-HMAC-SHA256 signature of each request on the routes it guards (the body,
/// read up to the limit, the clock, the nonce, the key's rate) and puts the verified key and body
/// on the context for the route. A refusal — of the signature, or a `ServiceError` the route
/// throws — is answered with Function Compute's error body, and logged, counted and recorded in
/// the audit log as `kind`, naming the claimed key and the function (the route's `:name`).
struct SignatureAuthenticator: RouterMiddleware {
    typealias Context = ServiceRequestContext
    let service: ConfineService
    /// The audit log's kind for the guarded routes (`invoke`, `task`, `exec`, `exec-stream`).
    let kind: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        do {
            context.signed = try await service.authenticate(request, requestID: context.requestID, arrived: context.arrived)
            return try await next(request, context)
        } catch {
            let refusal = error as? ServiceError
                ?? ServiceError(.internalServerError, "InternalError", "the request failed: \(error)")
            return await service.refuse(refusal, request: request, context: context, kind: kind,
                                        function: context.parameters.get("name"))
        }
    }
}

/// The routes of the service: the table the router is built from, and the one the 405 answers
/// (and their `Allow` header) are derived from.
enum ServiceRoute: CaseIterable {
    case health, metrics, invoke, asyncTask, exec, execStream

    var method: HTTPRequest.Method {
        switch self {
        case .health, .metrics, .asyncTask: .get
        case .invoke, .exec, .execStream: .post
        }
    }

    var path: String {
        switch self {
        case .health: "/healthz"
        case .metrics: "/metrics"
        case .invoke: "/2023-03-30/functions/:name/invocations"
        case .asyncTask: "/2023-03-30/functions/:name/async-tasks/:id"
        case .exec: "/v1/exec"
        case .execStream: "/v1/exec/stream"
        }
    }

    /// The audit log's kind of a signed route; nil for the open ones.
    var kind: String? {
        switch self {
        case .health, .metrics: nil
        case .invoke: "invoke"
        case .asyncTask: "task"
        case .exec: "exec"
        case .execStream: "exec-stream"
        }
    }

    /// Whether `path` is this route's, a `:parameter` matching any one non-empty component.
    func matches(_ path: String) -> Bool {
        let pattern = self.path.split(separator: "/", omittingEmptySubsequences: false)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard pattern.count == parts.count else { return false }
        return zip(pattern, parts).allSatisfy { expected, part in
            expected.hasPrefix(":") ? !part.isEmpty : expected == part
        }
    }

    /// The methods the service takes at `path`, in the table's order; empty when no route has it.
    static func methods(at path: String) -> [HTTPRequest.Method] {
        var methods: [HTTPRequest.Method] = []
        for route in allCases where route.matches(path) && !methods.contains(route.method) { methods.append(route.method) }
        return methods
    }
}

/// Turns Hummingbird's own refusals (no such route; a known route asked with another method,
/// which the router reports as not found) into Function Compute's error body: 404 `NotFound`, or
/// 405 `MethodNotAllowed` with the route's methods in `Allow`.
struct FCErrorMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let path = request.uri.path
            let allowed = ServiceRoute.methods(at: path).map(\.rawValue)
            guard error.status != .notFound || allowed.isEmpty else {
                var response = try ServiceError(.methodNotAllowed, "MethodNotAllowed",
                                                 "\(ConfineService.printable(path)) takes \(allowed.joined(separator: ", ")), not \(request.method.rawValue)")
                    .response(from: request, context: context)
                response.headers[.allow] = allowed.joined(separator: ", ")
                return response
            }
            let refusal = switch error.status {
            case .notFound: ServiceError(.notFound, "NotFound", "no such route: \(request.method.rawValue) \(ConfineService.printable(path))")
            case .methodNotAllowed: ServiceError(.methodNotAllowed, "MethodNotAllowed", error.body ?? error.status.reasonPhrase)
            default: ServiceError(error.status, "InvalidArgument", error.body ?? error.status.reasonPhrase)
            }
            return try refusal.response(from: request, context: context)
        }
    }
}
