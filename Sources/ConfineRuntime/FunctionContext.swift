import Confine
import Logging

/// Temporary credentials of the function's role, as Function Compute hands them to a handler.
public struct Credentials: Sendable, Hashable {
    public var accessKeyID: String
    public var accessKeySecret: String
    public var securityToken: String

    public init(accessKeyID: String, accessKeySecret: String, securityToken: String) {
        self.accessKeyID = accessKeyID
        self.accessKeySecret = accessKeySecret
        self.securityToken = securityToken
    }
}

/// The function's own description: its name, handler string, memory (MB) and timeout.
public struct FunctionMetadata: Sendable, Hashable {
    public var name: String
    public var handler: String
    /// Memory size in MB (FC's `memory_limit_in_mb`).
    public var memory: Int
    /// How long one invocation may run.
    public var timeout: Duration
}

/// What a handler is told about its invocation (Function Compute's `context`), plus an
/// executor bound to the function's policy: `try await context.executor.checkOutput(["ls", "-l"])`.
public struct FunctionContext: Sendable {
    public var requestID: String
    public var credentials: Credentials
    public var function: FunctionMetadata
    public var service: String
    public var region: String
    public var accountID: String
    /// When the invocation's time is up.
    public var deadline: ContinuousClock.Instant
    public var logger: Logger
    /// Runs commands under the function's policy.
    public var executor: Executor
    /// The function's configured environment variables (process handlers get them as their
    /// environment; Swift handlers, which run in the service's process, read them here).
    public var environment: [String: String] = [:]

    /// Time left before the deadline.
    public var remainingTime: Duration { ContinuousClock.now.duration(to: deadline) }
}
