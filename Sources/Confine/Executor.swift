import CConfineProtocol
import ConfinePolicy
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs commands confined by a policy. Every command goes through `confine-launch`: one
/// helper process started through Foundation's `Process` and kept alive, which forks a
/// monitor per command; the monitor applies the policy, execs, and kills the whole tree when
/// the command ends or its time is up.
///
/// The Python-shaped calls (`run`, `call`, `checkCall`, `checkOutput`) come in async and
/// blocking forms; `execute` is the one they share and never throws for an outcome.
public final class Executor: Sendable {
    /// The policy used when a command names none.
    public let policy: Policy
    let helper: SpawnHelper
    private let filters: FilterCache
    /// How refusals are handled: reported (the default) or only enforced.
    let mode: FilterMode
    /// The executor's own policy, prepared once: its compiled filter and command lists.
    private let prepared: (filter: CompiledFilter, commands: CommandMatcher)
    /// Parts of the policy's isolation this machine cannot give (the policy does not require
    /// them); commands run without them. A required part that is missing fails `init`.
    public let warnings: [String]
    /// Canonical paths no command's filesystem view may include (see `protecting(_:)`).
    public var protectedPaths: [String] { options.protectedPaths }
    /// Commands that name no working directory (and whose policy names none) start in a fresh
    /// private folder (see `withPrivateWorkingDirectories()`).
    public var privateWorkingDirectoryByDefault: Bool { options.privateByDefault }
    private let options: Options

    struct Options {
        var protectedPaths: [String] = []
        var privateByDefault = false
    }

    /// - Parameters:
    ///   - policy: the policy for commands that name none.
    ///   - launcherPath: `confine-launch`; by default found next to the running executable or
    ///     through `$CONFINE_LAUNCH`.
    ///   - reportRefusals: name the syscalls a policy refuses in `CompletedProcess.refused`
    ///     (seccomp user notification; costs a few microseconds a command). Policies whose
    ///     default action is not ERRNO are enforced without it.
    /// - Throws: `ConfineError` when the launcher cannot be found or the policy cannot be compiled.
    public convenience init(policy: Policy, launcherPath: String? = nil, reportRefusals: Bool = true) throws {
        // A confine-launch file (static, the fastest to start) if there is one, else the launcher
        // linked into this program, started by re-executing it.
        guard let helper = (launcherPath ?? SpawnHelper.locateLauncher()).map(SpawnHelper.init(launcherPath:)) ?? SpawnHelper.embedded() else {
            throw ConfineError(.launcherFailed, "cannot find confine-launch next to \(CommandLine.arguments.first ?? "the executable") nor read /proc/self/exe to run the built-in one; set CONFINE_LAUNCH to its path")
        }
        try self.init(policy: policy, helper: helper, filters: FilterCache(),
                      mode: reportRefusals ? .report : .enforce)
        Self.ignoreSIGPIPE
    }

    /// An executor for the policy with this name or path (`default`, `./mine.json`).
    public convenience init(policyNamed name: String, launcherPath: String? = nil) throws {
        let policy: Policy
        do { policy = try PolicyReader().load(name) } catch let error as PolicyError {
            throw ConfineError(.policy, error.description, path: error.file, policyError: error)
        }
        try self.init(policy: policy, launcherPath: launcherPath)
    }

    private init(policy: Policy, helper: SpawnHelper, filters: FilterCache, mode: FilterMode, options: Options = Options()) throws {
        self.policy = policy
        self.helper = helper
        self.filters = filters
        self.mode = mode
        self.options = options
        try Reactor.shared.checkHealthy()
        prepared = (try filters.filter(for: policy, mode: mode), CommandMatcher(policy))
        warnings = try IsolationSupport.check(policy)
    }

    /// An executor for another policy that shares this one's spawn helper and compiled
    /// filters: one helper process serves any number of policies.
    /// - Throws: `ConfineError` when the policy cannot be compiled.
    public func bound(to policy: Policy) throws -> Executor {
        try Executor(policy: policy, helper: helper, filters: filters, mode: mode, options: options)
    }

    /// This executor (same policy, spawn helper and filters) with paths that no command may
    /// see: a command whose filesystem view (its working directory, a granted path, a path of
    /// its policy) would include one of them is refused with `.workingDirectoryNotAdmitted`, and
    /// so is a command with no view that would run as this process's own uid. A service
    /// protects its configuration and audit store this way.
    /// - Parameter paths: files or folders; missing ones are ignored.
    /// - Throws: `ConfineError` as `init` does.
    public func protecting(_ paths: [String]) throws -> Executor {
        var options = self.options
        options.protectedPaths = Array(Set(protectedPaths + paths.compactMap(SystemCalls.realPath))).sorted()
        return try Executor(policy: policy, helper: helper, filters: filters, mode: mode, options: options)
    }

    /// This executor, but a command that names no working directory (under a policy that names
    /// none) starts in a fresh private folder rather than this process's own directory
    /// (`Command.privateWorkingDirectory`): for code that runs on behalf of others, such as a
    /// function's Swift handler inside a service.
    /// - Throws: `ConfineError` as `init` does.
    public func withPrivateWorkingDirectories() throws -> Executor {
        var options = self.options
        options.privateByDefault = true
        return try Executor(policy: policy, helper: helper, filters: filters, mode: mode, options: options)
    }

    /// Checks, without running it, that `command` may start where it asks: its working
    /// directory exists, its policy admits it, and it shows no path this executor protects.
    /// Execution checks the same again; this lets a service answer 403 before it commits to a
    /// response. A command with a private working directory always passes.
    /// - Throws: `ConfineError` `.workingDirectory` or `.workingDirectoryNotAdmitted`.
    public func checkWorkingDirectory(of command: Command) throws {
        let policy = command.policy ?? self.policy
        guard let directory = try workingDirectory(of: command, policy: policy) else { return }
        if let filesystem = policy.isolation.filesystem, filesystem.workingDirectory != .none {
            try WorkingDirectoryCheck.checkProtected(protectedPaths, rules: [(0, directory)], hasView: true, ownUID: false, policy: policy)
        }
    }

    /// Where `command` starts: its folder (or its policy's, or this process's), resolved and
    /// admitted by the policy; nil when it gets a fresh private folder instead.
    /// - Throws: `ConfineError` `.workingDirectory` or `.workingDirectoryNotAdmitted`.
    private func workingDirectory(of command: Command, policy: Policy) throws -> String? {
        if command.privateWorkingDirectory || (options.privateByDefault && command.workingDirectory == nil && policy.workingDirectory == nil) {
            return nil
        }
        let requested = command.workingDirectory ?? policy.workingDirectory ?? FileManager.default.currentDirectoryPath
        return try WorkingDirectoryCheck.resolve(requested, policy: policy, grants: command.filesystemGrants)
    }

    private static let leafCounter = LeafCounter()
    static func nextLeaf() -> Int { leafCounter.next() }

    /// The executor of the top-level functions: the `default` policy.
    public static func standard() throws -> Executor {
        try StandardExecutor.shared.get()
    }

    /// Writing to a pipe whose reader is gone must fail with EPIPE, not kill this process.
    private static let ignoreSIGPIPE: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    // MARK: - The shared core

    /// Runs a command to its end and reports what happened. An exit status, a signal, a
    /// timeout and an output cap are results; only failures to start throw.
    /// - Throws: `ConfineError` (not found, not executable, refused, bad arguments).
    public func execute(_ command: Command) async throws -> CompletedProcess {
        let (execution, shot, launch) = try start(command)
        let outcome = await withTaskCancellationHandler {
            await shot.wait()
        } onCancel: {
            Reactor.shared.cancel(execution)
        }
        return try finish(outcome, launch)
    }

    /// The blocking twin of `execute(_:)`, for callers outside Swift concurrency.
    public func execute(_ command: Command) throws -> CompletedProcess {
        let (_, shot, launch) = try start(command)
        return try finish(shot.waitBlocking(), launch)
    }

    struct Launch {
        var command: Command
        var policy: Policy
        var timeout: Duration?
        var workingDirectory: String?
        var uid: UInt32?
    }

    private func start(_ command: Command) throws -> (Execution, OneShot<Execution.Outcome>, Launch) {
        let policy = command.policy ?? self.policy
        try Self.validate(command)
        let baseEnvironment = command.environment ?? policy.environment
        let privateTmp = IsolationSupport.isRoot && policy.isolation.filesystem?.tmp != nil
        // The folder the command starts in, resolved and admitted by the policy (nil: a private
        // folder made for it below).
        var workingDirectory = try self.workingDirectory(of: command, policy: policy)
        let privateWorkingDirectory = workingDirectory == nil
        if let directory = workingDirectory, privateTmp,
           directory == "/tmp" || directory.hasPrefix("/tmp/") || directory.hasPrefix("/dev/shm") {
            throw ConfineError(.workingDirectory, "the working directory \(PythonRepr.string(directory)) is under /tmp or /dev/shm, which policy '\(policy.name)' replaces with a private tmpfs (isolation.filesystem.tmp): the command cannot see it", path: directory)
        } else if privateWorkingDirectory && privateTmp {
            workingDirectory = "/tmp"  // the command's own tmpfs
        }
        var environment = baseEnvironment
        let searchPath = environment["PATH"] ?? "/usr/bin:/bin"
        if privateWorkingDirectory, !command.arguments[0].hasPrefix("/"), command.arguments[0].contains("/") {
            throw ConfineError(.invalidArgument, "the program \(PythonRepr.string(command.arguments[0])) is a relative path, but the command runs in a fresh private folder: give a name found in PATH or an absolute path", path: command.arguments[0])
        }
        let found = try CommandResolver.resolve(command.arguments[0], searchPath: searchPath, workingDirectory: workingDirectory)
        let executable = CommandResolver.canonical(found)
        let own = command.policy == nil
        try (own ? prepared.commands : CommandMatcher(policy)).enforce(executable: executable, searchPath: searchPath)

        var timeout = command.timeout
        if let limit = policy.timeout, timeout.map({ limit < $0 }) ?? true { timeout = limit }
        // A deadline further out than a century is no deadline (and would overflow the clock).
        if let t = timeout, t > .seconds(3_153_600_000) { timeout = nil }

        if !own, !policy.isolation.isEmpty { _ = try IsolationSupport.check(policy) }
        let identity = try Self.identity(for: policy.user)
        let leased = identity.flatMap { policy.user == .automatic ? $0.uid : nil }
        // With a private /tmp (a tmpfs of the command's own) HOME and TMPDIR are that /tmp.
        if privateTmp {
            if environment["HOME"] == nil { environment["HOME"] = "/tmp" }
            if environment["TMPDIR"] == nil { environment["TMPDIR"] = "/tmp" }
        }
        // A private HOME (and TMPDIR) per command unless the environment names one: a shared
        // HOME lets one command plant files (~/.local site-packages, shell rc files) that the
        // next command, under any uid, would run.
        // A private working directory is that home too: fresh, the command's own, emptied after.
        let home: String?
        if environment["HOME"] == nil || (privateWorkingDirectory && !privateTmp) {
            do { home = try PrivateHome.acquire(owner: identity) } catch {
                if let leased { IdentityPool.shared.release(leased) }
                throw error
            }
            if environment["HOME"] == nil { environment["HOME"] = home }
            if environment["TMPDIR"] == nil { environment["TMPDIR"] = home }
            if workingDirectory == nil { workingDirectory = home.map(CommandResolver.canonical) }
        } else {
            home = nil
        }
        var request = LaunchRequest(
            executable: executable,
            arguments: command.arguments,
            environment: environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            workingDirectory: workingDirectory,
            filter: command.learning ? try filters.filter(for: policy, mode: .learn)
                : own ? prepared.filter : try filters.filter(for: policy, mode: mode),
            rlimits: LaunchRequest.rlimits(of: policy.rlimits),
            identity: identity)
        var cgroup: Cgroups?
        let plan = policy.isolation.isEmpty ? nil
            : IsolationPlan(policy.isolation, workingDirectory: workingDirectory, home: home, executable: executable, grants: command.filesystemGrants)
        // A view that would show a protected file, or a cgroup that cannot be made: the uid and
        // home go back.
        do {
            try WorkingDirectoryCheck.checkProtected(protectedPaths, rules: plan?.rules ?? [], hasView: (plan?.flags ?? 0) & UInt32(CFL_ISO_LANDLOCK) != 0,
                                                     ownUID: identity == nil, policy: policy)
            if plan != nil && policy.isolation.usesCgroups && Cgroups.available {
                cgroup = try Cgroups(name: leased.map { "u\($0)" } ?? "c\(getpid())-\(Self.nextLeaf())", isolation: policy.isolation)
            }
        } catch {
            if let home { PrivateHome.release(home, leased: leased != nil) {} }
            if let leased { IdentityPool.shared.release(leased) }
            throw error
        }
        if let plan {
            request.isolationFlags = plan.flags
            request.landlockScopes = plan.scopes
            request.filesystemRules = plan.rules
            request.tmpSize = plan.tmpSize
            request.cgroups = cgroup?.procs ?? []
        }
        let perCommandLeaf = leased == nil
        let leaf = cgroup

        // Descriptors for the child, and the parent's ends.
        var sent = false
        var close: [Int32] = []
        var parentEnds: [Int32] = []
        defer { close.forEach(SystemCalls.close) }
        do {
            let (statusParent, statusChild) = try SystemCalls.seqpacketPair()
            parentEnds.append(statusParent)
            close.append(statusChild)

            var stdinChild: Int32 = 0
            var stdinParent: Int32?
            var input: [UInt8] = []
            switch command.stdin {
            case .inherit where fcntl(0, F_GETFD) >= 0: stdinChild = 0
            case .inherit: stdinChild = try SystemCalls.openNull(write: false); close.append(stdinChild)
            case .fileDescriptor(let fd): stdinChild = fd
            case .null: stdinChild = try SystemCalls.openNull(write: false); close.append(stdinChild)
            case .bytes(let bytes):
                let pipe = try SystemCalls.pipe()
                stdinChild = pipe.read; close.append(pipe.read)
                stdinParent = pipe.write; parentEnds.append(pipe.write)
                input = bytes
            }
            func output(_ destination: OutputDestination, standard: Int32) throws -> (child: Int32, parent: Int32?) {
                switch destination {
                case .inherit where fcntl(standard, F_GETFD) >= 0: return (standard, nil)
                case .inherit:
                    let fd = try SystemCalls.openNull(write: true); close.append(fd); return (fd, nil)
                case .fileDescriptor(let fd): return (fd, nil)
                case .discard, .stdout:
                    let fd = try SystemCalls.openNull(write: true); close.append(fd); return (fd, nil)
                case .pipe:
                    let pipe = try SystemCalls.pipe()
                    SystemCalls.growPipe(pipe.read, to: 1 << 20)
                    close.append(pipe.write); parentEnds.append(pipe.read)
                    return (pipe.write, pipe.read)
                }
            }
            let out = try output(command.stdout, standard: 1)
            var err = try output(command.stderr == .stdout ? .discard : command.stderr, standard: 2)
            if command.stderr == .stdout { err = (out.child, nil) }

            let shot = OneShot<Execution.Outcome>()
            let execution = Execution(
                status: statusParent, stdin: stdinParent, input: input, stdout: out.parent, stderr: err.parent,
                outputLimit: policy.outputLimit,
                deadline: timeout.map { ContinuousClock.now.advanced(by: $0) },
                onComplete: { reported in
                    var outcome = reported
                    // Read the cgroup before its uid (and leaf) can serve the next command.
                    if let leaf {
                        (outcome.memoryPeak, outcome.oomKilled) = leaf.usage()
                        if perCommandLeaf { leaf.remove() }
                    }
                    // The uid (and its home) go back only when the whole tree is known to be
                    // gone; if the monitor died first, processes of that uid may live on.
                    if outcome.waitStatus != nil || outcome.failure != nil {
                        if let home {
                            PrivateHome.release(home, leased: leased != nil) { if let leased { IdentityPool.shared.release(leased) } }
                        } else if let leased {
                            IdentityPool.shared.release(leased)
                        }
                    }
                    shot.fulfill(outcome)
                })
            execution.onOutput = command.onOutput
            try helper.send(request.encode(), fds: [statusChild, stdinChild, out.child, err.child])
            sent = true
            parentEnds.removeAll()
            Reactor.shared.add(execution)
            return (execution, shot, Launch(command: command, policy: policy, timeout: timeout,
                                              workingDirectory: workingDirectory, uid: identity?.uid))
        } catch {
            parentEnds.forEach(SystemCalls.close)
            if !sent {
                if let home { PrivateHome.release(home, leased: leased != nil) {} }
                if let leased { IdentityPool.shared.release(leased) }
            }
            if let error = error as? ConfineError { throw error }
            throw ConfineError(.launcherFailed, "cannot start \(PythonRepr.list(command.arguments)): \(error)")
        }
    }

    private func finish(_ outcome: Execution.Outcome, _ launch: Launch) throws -> CompletedProcess {
        let args = launch.command.arguments
        if let failure = outcome.failure {
            throw Self.launchError(stage: failure.stage, errno: failure.errno, detail: failure.detail, args: args, policy: launch.policy,
                                   workingDirectory: launch.workingDirectory, uid: launch.uid)
        }
        if outcome.killedOnRequest && !outcome.timedOut && !launch.command.cancellationIsResult {
            throw CancellationError()
        }
        guard let status = outcome.waitStatus else {
            throw ConfineError(.launcherFailed, "the spawn helper ended before reporting on \(PythonRepr.list(args)); it is restarted on the next call")
        }
        let returnCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
        let state: CompletedProcess.Status
        if outcome.timedOut && outcome.killedOnRequest {
            state = .timeout
        } else if outcome.killedOnRequest {
            state = .killed
        } else if outcome.oomKilled {
            state = .memoryLimit
        } else if returnCode < 0 {
            state = .signal
        } else if returnCode != 0 {
            state = .nonzero
        } else if outcome.stdout.truncated || outcome.stderr.truncated {
            state = .outputLimit
        } else {
            state = .ok
        }
        let command = launch.command
        return CompletedProcess(
            args: args, returnCode: returnCode,
            stdout: command.stdout == .pipe ? outcome.stdout.bytes : nil,
            stderr: command.stderr == .pipe ? outcome.stderr.bytes : nil,
            status: state,
            stdoutBytes: outcome.stdout.total, stderrBytes: outcome.stderr.total,
            stdoutTruncated: outcome.stdout.truncated, stderrTruncated: outcome.stderr.truncated,
            descendantsKilled: outcome.descendantsKilled,
            pid: outcome.pid, policy: launch.policy.name, timeout: launch.timeout,
            wallTime: outcome.started.duration(to: outcome.ended),
            userTime: outcome.userTime, systemTime: outcome.systemTime, maxRSS: outcome.maxRSS,
            refused: outcome.refused, memoryPeak: outcome.memoryPeak, oomKilled: outcome.oomKilled)
    }

    static func validate(_ command: Command) throws {
        guard let first = command.arguments.first, !first.isEmpty else {
            throw ConfineError(.invalidArgument, "the command is empty: give at least a program name (argv[0])")
        }
        for (i, argument) in command.arguments.enumerated() where argument.utf8.contains(0) {
            throw ConfineError(.invalidArgument, "argument \(i) (\(PythonRepr.string(argument))) contains a NUL byte, which no program can receive")
        }
        for (key, value) in command.environment ?? [:] {
            if key.isEmpty || key.contains("=") || key.utf8.contains(0) || value.utf8.contains(0) {
                throw ConfineError(.invalidArgument, "environment variable \(PythonRepr.string(key)) is invalid: names must be non-empty without '=' or NUL, values without NUL")
            }
        }
        if let directory = command.workingDirectory, directory.utf8.contains(0) || directory.isEmpty {
            throw ConfineError(.invalidArgument, "the working directory \(PythonRepr.string(directory)) is empty or contains a NUL byte")
        }
        if let timeout = command.timeout, timeout < .zero {
            throw ConfineError(.invalidArgument, "timeout \(timeout.seconds) is negative (accepted: zero or more seconds)")
        }
    }

    /// The ids a command runs as: as root, a uid of its own from the pool (see `IdentityPool`).
    static func identity(for user: UserSpec) throws -> (uid: UInt32, gid: UInt32)? {
        switch user {
        case .automatic:
            guard geteuid() == 0 else { return nil }
            let uid = try IdentityPool.shared.lease()
            return (uid, uid)
        case .inherit: return nil
        case .ids(let uid, let gid): return (uid, gid)
        }
    }

    static func launchError(stage: Int32, errno e: Int32, detail: Int32, args: [String], policy: Policy,
                            workingDirectory: String? = nil, uid: UInt32? = nil) -> ConfineError {
        let name = args.first ?? ""
        switch UInt32(stage) {
        case CFL_STAGE_EXEC.rawValue:
            switch e {
            case ENOENT: return ConfineError(.notFound, "No such file or directory: \(PythonRepr.string(name))", errno: e, path: name)
            case EACCES: return ConfineError(.permissionDenied, "Permission denied: \(PythonRepr.string(name)) (as the confined user)", errno: e, path: name)
            case EPERM: return ConfineError(.refused, "refused by policy '\(policy.name)': execve of \(PythonRepr.string(name)) is not allowed by its seccomp filter", errno: e, path: name)
            case ENOEXEC: return ConfineError(.permissionDenied, "Exec format error: \(PythonRepr.string(name))", errno: e, path: name)
            default: return ConfineError(.launcherFailed, "cannot execute \(PythonRepr.string(name)): \(ConfineError.errnoText(e))", errno: e, path: name)
            }
        case CFL_STAGE_CHDIR.rawValue:
            let code: ConfineError.Code = e == EACCES ? .permissionDenied : .workingDirectory
            let folder = workingDirectory.map { " \(PythonRepr.string($0))" } ?? ""
            let why = switch e {
            case EACCES: uid.map { " (the command runs as uid \($0), its own: a folder on the path admits no other user)" } ?? ""
            case ELOOP: " (a symbolic link appeared in the path after it was checked)"
            default: ""
            }
            return ConfineError(code, "cannot enter the working directory\(folder): \(ConfineError.errnoText(e))\(why)", errno: e, path: workingDirectory)
        case CFL_STAGE_REQUEST.rawValue:
            return ConfineError(.launcherFailed, "confine-launch rejected the request (a launcher of another version?)", errno: e)
        case CFL_STAGE_FORK.rawValue:
            return ConfineError(.launcherFailed, "confine-launch could not fork: \(ConfineError.errnoText(e))", errno: e)
        default:
            let steps: [UInt32: String] = [
                CFL_STAGE_STDIO.rawValue: "setting up stdin/stdout/stderr", CFL_STAGE_RLIMIT.rawValue: "setting rlimit \(detail)",
                CFL_STAGE_SETGROUPS.rawValue: "dropping supplementary groups", CFL_STAGE_SETGID.rawValue: "setgid",
                CFL_STAGE_SETUID.rawValue: "setuid", CFL_STAGE_NO_NEW_PRIVS.rawValue: "PR_SET_NO_NEW_PRIVS",
                CFL_STAGE_FDS.rawValue: "closing inherited descriptors", CFL_STAGE_SECCOMP.rawValue: "installing the seccomp filter",
                CFL_STAGE_SETSID.rawValue: "setsid",
                CFL_STAGE_NAMESPACE.rawValue: "creating the namespaces (isolation)", CFL_STAGE_MOUNT.rawValue: "setting up the mounts (isolation.filesystem\(detail >= 0 ? ", rule \(detail)" : ""))",
                CFL_STAGE_LANDLOCK.rawValue: "applying Landlock (isolation.filesystem\(detail >= 0 ? ", rule \(detail)" : ""))",
                CFL_STAGE_CGROUP.rawValue: "joining the cgroups (isolation.memory/cpu/processes)", CFL_STAGE_NETWORK.rawValue: "bringing up loopback (isolation.network)",
            ]
            return ConfineError(.confinementFailed, "confinement failed while \(steps[UInt32(stage)] ?? "step \(stage)") for policy '\(policy.name)': \(ConfineError.errnoText(e))", errno: e)
        }
    }
}

/// Compiled filters by profile: a policy is compiled once per executor.
final class FilterCache: @unchecked Sendable {
    private let lock = NSLock()
    private struct Key: Hashable {
        var profile: SeccompProfile
        var mode: FilterMode
    }
    private var filters: [Key: CompiledFilter] = [:]

    func filter(for policy: Policy, mode: FilterMode) throws -> CompiledFilter {
        lock.lock()
        defer { lock.unlock() }
        let key = Key(profile: policy.seccomp, mode: mode)
        if let cached = filters[key] { return cached }
        do {
            let compiled = try PolicyCompiler.compile(policy.seccomp, mode: mode)
            filters[key] = compiled
            return compiled
        } catch {
            throw ConfineError(.policy, "policy '\(policy.name)'\(policy.source.map { " (\($0))" } ?? ""): \(error)",
                               path: policy.source, policyError: error as? PolicyError)
        }
    }
}

/// The lazily built executor behind the top-level functions.
final class StandardExecutor: @unchecked Sendable {
    static let shared = StandardExecutor()
    private let lock = NSLock()
    private var executor: Executor?

    func get() throws -> Executor {
        lock.lock()
        defer { lock.unlock() }
        if let executor { return executor }
        let made = try Executor(policyNamed: "default")
        executor = made
        return made
    }
}

extension Executor {
    /// What a run of `command` needed beyond its policy: it runs with every call the policy
    /// would refuse by default allowed and recorded (seccomp user notification), so the
    /// command is *not* confined by the filter here, only by the rest of the policy.
    /// - Returns: the run, and the names of the syscalls the policy lacked, sorted.
    public func learn(_ command: Command) async throws -> (result: CompletedProcess, syscalls: [String]) {
        var learning = command
        learning.learning = true
        let result = try await execute(learning)
        return (result, Set(result.refused.map(\.name)).sorted())
    }
}

/// Numbers per-command cgroup leaves.
final class LeafCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
