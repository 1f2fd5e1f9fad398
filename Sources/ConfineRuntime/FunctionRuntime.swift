import Confine
import ConfinePolicy
import FoundationEssentials
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One invocation's outcome: the result bytes or an FC-style error, with the function's log.
public struct Invocation: Sendable {
    public var requestID: String
    public var result: Result<[UInt8], FunctionError>
    /// What the function wrote to its log (stderr; print() in Python handlers).
    public var log: [UInt8]
    public var duration: Duration
    /// The command record, for process handlers.
    public var process: CompletedProcess?
    /// The handler reported the error itself (its exception, or FC's error file): the process's
    /// exit status is then how the report was made, not an outcome, and records leave it out.
    public var reportedByHandler: Bool = false

    /// The exit status worth recording: the process's, unless the handler reported its error.
    public var exitStatus: Int32? { reportedByHandler ? nil : process?.returnCode }
}

/// Runs the configured functions: Swift handlers in process, Python and executable handlers
/// as confined processes under each function's policy.
public final class FunctionRuntime: Sendable {
    public let configuration: FunctionConfiguration
    public let registry: HandlerRegistry
    private let executors: [String: Executor]
    /// The executors Swift handlers get: commands that name no folder start in a private one.
    private let handlerExecutors: [String: Executor]

    /// - Parameter protecting: files no command of any function may see (a service's
    ///   configuration and audit store; see `Executor.protecting(_:)`).
    /// - Throws: `ConfineError` when a function's policy cannot be compiled or the launcher is missing.
    public init(configuration: FunctionConfiguration, registry: HandlerRegistry = HandlerRegistry(), protecting: [String] = []) throws {
        self.configuration = configuration
        self.registry = registry
        // One spawn helper for every function; each function's executor is bound to its policy.
        var executors: [String: Executor] = [:]
        var handlerExecutors: [String: Executor] = [:]
        var shared: Executor?
        for (name, function) in configuration.functions {
            let policy = Self.policy(for: function)
            let executor = try shared?.bound(to: policy) ?? Executor(policy: policy).protecting(protecting + [configuration.file])
            shared = shared ?? executor
            executors[name] = executor
            handlerExecutors[name] = try executor.withPrivateWorkingDirectories()
        }
        self.executors = executors
        self.handlerExecutors = handlerExecutors
    }

    /// The function's policy with its memory and timeout applied: RLIMIT_AS of twice the
    /// memory plus 256 MiB of address-space headroom (runtimes reserve more than they touch),
    /// unless the policy's own is lower.
    static func policy(for function: FunctionConfiguration.Function) -> Policy {
        var policy = function.policy
        let addressSpace = UInt64(function.memory) * 2 * (1 << 20) + (256 << 20)
        if case .limited(let current)? = policy.rlimits.as, current < addressSpace {} else {
            policy.rlimits.as = .limited(addressSpace)
        }
        policy.timeout = function.timeout
        return policy
    }

    /// Invokes a function with an event.
    public func invoke(_ name: String, event: [UInt8], requestID: String = UUID().uuidString.lowercased()) async -> Invocation {
        let started = ContinuousClock.now
        func done(_ result: Result<[UInt8], FunctionError>, log: [UInt8] = [], process: CompletedProcess? = nil) -> Invocation {
            var log = log
            // The log ends with the error, as Function Compute's does (Tail shows it): its
            // stack trace, when it has one, then its type and message.
            if case .failure(let error) = result {
                if !log.isEmpty && log.last != 0x0A { log.append(0x0A) }
                if !error.stackTrace.isEmpty {
                    log += Array(("Traceback (most recent call last):\n" + error.stackTrace.map { $0.hasSuffix("\n") ? $0 : $0 + "\n" }.joined()).utf8)
                }
                log += Array("\(error.errorType): \(error.errorMessage)\n".utf8)
            }
            return Invocation(requestID: requestID, result: result, log: log, duration: started.duration(to: .now), process: process)
        }
        guard let function = configuration.functions[name], let executor = executors[name], let handlerExecutor = handlerExecutors[name] else {
            return done(.failure(FunctionError("FunctionNotFound", "function '\(name)' is not configured (configured: \(configuration.functions.keys.sorted().joined(separator: ", ")))")))
        }
        let credentials: Credentials
        do { credentials = try configuration.currentCredentials() } catch {
            return done(.failure(FunctionError.from(error)))
        }
        let deadline = started.advanced(by: function.timeout)
        var logger = Logger(label: "confine.function.\(name)")
        logger[metadataKey: "requestID"] = "\(requestID)"
        let context = FunctionContext(
            requestID: requestID, credentials: credentials,
            function: FunctionMetadata(name: function.name, handler: function.handler, memory: function.memory, timeout: function.timeout),
            service: configuration.service, region: configuration.region, accountID: configuration.accountID,
            deadline: deadline, logger: logger, executor: handlerExecutor, environment: function.environment)
        switch function.runtime {
        case .swift:
            guard let handler = registry.handler(named: function.handler) else {
                return done(.failure(FunctionError("HandlerNotFound", "no Swift handler is registered as '\(function.handler)' (registered: \(registry.names.joined(separator: ", ")))")))
            }
            return done(await Self.run(handler, event: event, context: context, timeout: function.timeout))
        case .python3, .executable:
            do {
                let (result, log, process, reported) = try await runProcess(function, executor: executor, event: event, context: context)
                var invocation = done(result, log: log, process: process)
                invocation.reportedByHandler = reported
                return invocation
            } catch {
                return done(.failure(FunctionError.from(error)))
            }
        }
    }

    /// Runs a Swift handler against its deadline.
    static func run(_ handler: any FunctionHandler, event: [UInt8], context: FunctionContext, timeout: Duration) async -> Result<[UInt8], FunctionError> {
        await withTaskGroup(of: Result<[UInt8], FunctionError>?.self) { group in
            group.addTask {
                do { return .success(try await handler.handle(event, context: context)) } catch is CancellationError {
                    return nil
                } catch {
                    // A command killed by the function's own deadline is the function timing out.
                    if ContinuousClock.now >= context.deadline { return nil }
                    return .failure(FunctionError.from(error))
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .failure(FunctionError("FunctionTimeout", "Function timed out after \(PythonRepr.float(timeout.seconds)) seconds"))
            }
            var outcome: Result<[UInt8], FunctionError> = .failure(FunctionError("FunctionTimeout", "the handler was cancelled"))
            for await next in group {
                if let next { outcome = next; break }
            }
            group.cancelAll()
            return outcome
        }
    }

    /// Runs a Python or executable handler as a confined process: event on stdin, result on
    /// stdout, log on stderr, context in the environment and a JSON file, an error as FC's JSON
    /// in a file of its own.
    func runProcess(_ function: FunctionConfiguration.Function, executor: Executor, event: [UInt8], context: FunctionContext)
        async throws -> (Result<[UInt8], FunctionError>, [UInt8], CompletedProcess?, reported: Bool)
    {
        let scratch = try InvocationDirectory(asRoot: geteuid() == 0)
        defer { scratch.remove() }
        let contextJSON: [String: Any?] = [
            "requestId": context.requestID,
            "credentials": ["accessKeyId": context.credentials.accessKeyID, "accessKeySecret": context.credentials.accessKeySecret,
                            "securityToken": context.credentials.securityToken],
            "function": ["name": function.name, "handler": function.handler, "memory": function.memory, "timeout": Int(function.timeout.seconds.rounded(.up))],
            "service": ["name": configuration.service],
            "region": configuration.region,
            "accountId": configuration.accountID,
        ]
        let contextFile = try scratch.write("context.json", Data(JSONValue(any: contextJSON).text(pretty: false).utf8), mode: 0o644)
        let errorFile = try scratch.write("error.json", Data(), mode: 0o666)
        // Function Compute's layout where the command can get a mount namespace (Confine as
        // root): the code read-only at /code, whatever the folders above it admit; a private,
        // writable /tmp (HOME and TMPDIR too); this invocation's files at /.confine. Elsewhere
        // the code and the files are where the host has them.
        let layout = FunctionLayout(code: function.codeDirectory, scratch: scratch.path)
        var environment = function.policy.environment.merging(function.environment) { $1 }
        environment.merge([
            "FC_FUNC_CODE_PATH": layout.code ?? "", "FC_CODE_DIR": layout.code ?? "",
            "FC_HANDLER": function.handler, "FC_CONTEXT_FILE": layout.shown(contextFile), "FC_ERROR_FILE": layout.shown(errorFile),
            "FC_REQUEST_ID": context.requestID, "FC_FUNCTION_NAME": function.name, "FC_FUNCTION_HANDLER": function.handler,
            "FC_FUNCTION_MEMORY_SIZE": String(function.memory), "FC_SERVICE_NAME": configuration.service,
            "FC_REGION": configuration.region, "FC_ACCOUNT_ID": configuration.accountID,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": context.credentials.accessKeyID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": context.credentials.accessKeySecret,
            "ALIBABA_CLOUD_SECURITY_TOKEN": context.credentials.securityToken,
        ]) { $1 }
        let argv: [String]
        switch function.runtime {
        case .python3:
            argv = ["python3", layout.shown(try scratch.write("bootstrap.py", Data(PythonBootstrap.source.utf8), mode: 0o644))]
        default:
            let executable = URL(fileURLWithPath: function.codeDirectory ?? "").appendingPathComponent(function.handler).path
            guard FileManager.default.isExecutableFile(atPath: executable) else {
                return (.failure(FunctionError("HandlerNotFound", "the handler '\(function.handler)' is not an executable file in \(function.codeDirectory ?? "-")")), [], nil, false)
            }
            argv = [executable]
        }
        var command = Command(
            argv, stdin: .bytes(event), stdout: .pipe, stderr: .pipe, environment: environment,
            workingDirectory: function.codeDirectory, timeout: function.timeout)
        // Under filesystem isolation: the function's grants (checked against its policy when
        // the configuration was read), the code (with its python/ dependencies) and this
        // invocation's bootstrap, context and error files.
        command.filesystemGrants = function.grants
        if layout.mounted {
            command.mounts = layout.mounts
            command.privateTmpSize = FunctionLayout.tmpSize(memory: function.memory)
        } else {
            command.filesystemGrants[layout.scratch] = .readWrite
            if let code = function.codeDirectory { command.filesystemGrants[code] = .readOnly }
        }
        let result = try await executor.execute(command)
        let log = result.stderr ?? []
        if let data = InvocationDirectory.report(errorFile), !data.isEmpty {
            if let error = try? JSONDecoder().decode(FunctionError.self, from: data) { return (.failure(error), log, result, true) }
            return (.failure(FunctionError("InvalidErrorReport", "the handler reported an error that is not FC's JSON: \(String(decoding: data.prefix(200), as: UTF8.self))")), log, result, true)
        }
        switch result.status {
        case .ok:
            return (.success(result.stdout ?? []), log, result, false)
        case .timeout:
            return (.failure(FunctionError("FunctionTimeout", "Function timed out after \(PythonRepr.float(function.timeout.seconds)) seconds")), log, result, false)
        case .outputLimit:
            return (.failure(FunctionError("OutputLimitExceeded", "the result or log exceeded the policy's output limit of \(function.policy.outputLimit.map { Quantity.format(bytes: UInt64($0)) } ?? "?"); it was cut")), log, result, false)
        case .signal:
            let signal = result.signal.flatMap(SignalName.name(of:)) ?? "signal \(result.signal ?? 0)"
            let refused = result.refused.first.map { " after the policy refused \($0)" } ?? ""
            return (.failure(FunctionError("FunctionCrashed", "the handler process died of \(signal)\(refused)")), log, result, false)
        case .memoryLimit:
            return (.failure(FunctionError("OutOfMemory", "the function went over its memory limit of \(function.memory) MB and was killed")), log, result, false)
        case .killed:
            return (.failure(FunctionError("FunctionKilled", "the invocation was cancelled and its process tree killed")), log, result, false)
        case .nonzero:
            let tail = String(decoding: log.suffix(512), as: UTF8.self)
            return (.failure(FunctionError("FunctionExited", "the handler process exited with status \(result.returnCode): \(tail)")), log, result, false)
        }
    }
}

/// Where a function's command finds its code and this invocation's files.
struct FunctionLayout {
    /// The code folder's path as the command sees it.
    let code: String?
    /// The invocation directory on the host.
    let scratch: String
    /// The command gets Function Compute's layout (a mount namespace of its own).
    let mounted: Bool
    let mounts: [Command.Mount]
    /// The private /tmp (and /dev/shm): the function's memory (MB), at least 64 MiB and at most
    /// 512 MiB (Function Compute's default /tmp): what is written there is memory, charged to
    /// the command's cgroup, so the function's own budget bounds it.
    static func tmpSize(memory: Int) -> UInt64 {
        UInt64(min(512, max(64, memory))) << 20
    }
    static let codeTarget = "/code", scratchTarget = "/.confine"

    init(code: String?, scratch: String) {
        self.scratch = scratch
        mounted = IsolationSupport.mountNamespaces
        guard mounted else {
            self.code = code
            mounts = []
            return
        }
        self.code = code == nil ? nil : Self.codeTarget
        mounts = (code.map { [Command.Mount(source: $0, target: Self.codeTarget)] } ?? [])
            + [Command.Mount(source: scratch, target: Self.scratchTarget, writable: true)]
    }

    /// An invocation file's path as the command sees it.
    func shown(_ path: String) -> String {
        mounts.lazy.compactMap { $0.shown(path) }.first ?? path
    }
}

/// A private directory for one invocation's bootstrap, context (with the credentials) and error
/// files, that no other user can reach. As root, it is 0711 so that the command's leased uid can
/// open the files it is told about (at /.confine) but not list them, inside a root-only 0700
/// folder (`/run/confine-fc`) so that nobody else reaches it by its host path. Otherwise the
/// command runs as this user: 0700, in the temporary folder.
struct InvocationDirectory {
    let path: String

    /// The root-only parent of the invocation directories, made once; one that is not root's,
    /// a link, or open to others is refused.
    static func parent() throws -> String {
        let base = FileManager.default.fileExists(atPath: "/run") ? "/run/confine-fc" : "/var/tmp/confine-fc"
        if mkdir(base, 0o700) != 0 && errno != EEXIST {
            throw FunctionError("InternalError", "cannot create \(base): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard lstat(base, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == 0, info.st_mode & 0o077 == 0 else {
            throw FunctionError("InternalError", "\(base) is not a folder of root's that only root may enter (mode 0700): remove it, Confine makes it")
        }
        return base
    }

    init(asRoot: Bool) throws {
        let base = asRoot ? try Self.parent() : FileManager.default.temporaryDirectory.path
        var template = Array((base + "/confine-fc-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw FunctionError("InternalError", "cannot create an invocation directory: \(String(cString: strerror(errno)))")
        }
        let made = String(cString: created)
        // canonical (a TMPDIR reached through a link included): the command is told the files'
        // paths as seen through the mount of this folder's canonical path
        path = SystemCalls.realPath(made) ?? made
        chmod(path, asRoot ? 0o711 : 0o700)
    }

    /// The error report the handler wrote: a regular file (not a link, a fifo or a device it
    /// put in its place), at most 64 KiB of it read.
    static func report(_ file: String) -> Data? {
        let fd = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        let count = read(fd, &buffer, buffer.count)
        return count > 0 ? Data(buffer[..<count]) : nil
    }

    func write(_ name: String, _ data: Data, mode: mode_t) throws -> String {
        let file = path + "/" + name
        guard FileManager.default.createFile(atPath: file, contents: data) else {
            throw FunctionError("InternalError", "cannot write \(file)")
        }
        chmod(file, mode)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
