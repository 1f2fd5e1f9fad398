import CConfineProtocol
import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Runs commands confined by a policy. Every command goes through `confine-launch`: one
/// helper process started with posix_spawn(2) and kept alive, which forks a monitor per
/// command (or, `oneShot`, a launcher per command that is its monitor); the monitor applies the
/// policy, execs, and kills the whole tree when the command ends or its time is up.
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
        var workingDirectoryAsOwner = false
    }

    /// As root, when the policy asks for a network namespace (`network: none`), the spare
    /// monitors (or the one-shot launcher) make it while they wait for a request: a command of
    /// another policy that keeps the host's network is sent back to the host's. Not root, a
    /// one-shot launcher makes the command's user namespace ahead, and its network namespace in
    /// it; a command that asks for neither gets a launcher of its own.
    ///
    /// - Parameters:
    ///   - policy: the policy for commands that name none.
    ///   - launcherPath: `confine-launch`; by default found next to the running executable or
    ///     through `$CONFINE_LAUNCH`.
    ///   - reportRefusals: name the syscalls a policy refuses in `CompletedProcess.refused`
    ///     (seccomp user notification; costs a few microseconds a command). Policies whose
    ///     default action is not ERRNO are enforced without it.
    ///   - oneShot: start a launcher for each command that becomes the command's monitor itself,
    ///     instead of one long-lived helper with spare monitors: the cheapest way for a program
    ///     that runs one command and exits (`confine run`); slower per command when there are many.
    ///     The first command's launcher is started with the executor, so that its start-up
    ///     overlaps the preparation of the request; one left unused exits with the executor.
    ///   - cacheCompiledFilters: keep compiled filters across runs in a folder of root's own
    ///     (`$CONFINE_CACHE_DIR`, else `$XDG_CACHE_HOME/confine/filters`, else
    ///     `~/.cache/confine/filters`): for programs run by root that start often and run few
    ///     commands. Not for other users (their commands, under their own uid, could rewrite it:
    ///     no cache is kept). A folder or entry another user could write is refused (a warning
    ///     in `warnings`), a stale or corrupt entry is compiled again, and no folder that holds
    ///     the cache is mounted as its owner's for a command.
    /// - Throws: `ConfineError` when the launcher cannot be found or the policy cannot be compiled.
    public convenience init(policy: Policy, launcherPath: String? = nil, reportRefusals: Bool = true, oneShot: Bool = false,
                            cacheCompiledFilters: Bool = false) throws {
        // A confine-launch file (static, the fastest to start) if there is one, else the launcher
        // linked into this program, started by re-executing it.
        // As root, the network namespace the policy asks for is made while the launcher waits.
        // Not root, a one-shot launcher makes the command's user namespace ahead, and the
        // network namespace in it. (Asked before this host's support is probed, so that the
        // launcher starts at once: where a user cannot make one, the launcher runs requests as
        // usual, and the requests, which then ask for none, go to a plain launcher.)
        let isolation = policy.isolation
        let user = oneShot && !IsolationSupport.isRoot
            && (isolation.network == .none || isolation.pidNamespace || isolation.privateIPC || isolation.filesystem != nil)
        let network = (IsolationSupport.isRoot || user) && isolation.network == .none
        guard let helper = (launcherPath ?? SpawnHelper.locateLauncher()).map({
                    SpawnHelper(launcherPath: $0, oneShot: oneShot, network: network, user: user)
                })
                ?? SpawnHelper.embedded(oneShot: oneShot, network: network, user: user) else {
            throw ConfineError(.launcherFailed, "cannot find confine-launch next to \(CommandLine.arguments.first ?? "the executable") nor read /proc/self/exe to run the built-in one; set CONFINE_LAUNCH to its path")
        }
        if oneShot {
            // the launcher (and its network namespace) made while the request is prepared
            helper.prestart()
            if policy.isolation.usesCgroups { Cgroups.prepareMove() }
        }
        try self.init(policy: policy, helper: helper, filters: FilterCache(keeping: cacheCompiledFilters),
                      mode: reportRefusals ? .report : .enforce)
        Self.ignoreSIGPIPE
    }

    /// An executor for the policy with this name or path (`default`, `./mine.json`).
    /// - Throws: `ConfineError(.policy)` with the `PolicyError` (file, line, field), or as `init(policy:)`.
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
        warnings = try IsolationSupport.check(policy) + filters.warnings
    }

    /// What a command in `directory` under this executor's policy will run without, said before
    /// it runs: with `writingAsWorkingDirectoryOwner()`, why the directory will not be the
    /// command's own (`IdmappedMounts.obstacle`). `confine run` prints these.
    /// None for a directory the policy does not admit (with `grants`, as the command would get
    /// them): that command is refused, and the refusal says why.
    public func warnings(forWorkingDirectory directory: String, grants: [String: Isolation.Access] = [:]) -> [String] {
        guard options.workingDirectoryAsOwner, policy.isolation.filesystem?.workingDirectory == .readWrite,
              IsolationSupport.isRoot, policy.user == .automatic,
              (try? WorkingDirectoryCheck.resolve(directory, policy: policy, grants: grants)) != nil else { return [] }
        return Self.notMapped(directory, workingDirectory: true)
    }

    /// Why `directory` will not be mounted as the command's own, what that means and how to get
    /// writes back there, or nothing when it will be.
    private static func notMapped(_ directory: String, workingDirectory: Bool) -> [String] {
        IdmappedMounts.obstacle(directory).map {
            ["\($0); it is not mounted as the command's own, so the command writes there only as its permissions allow"
                + remedy(for: $0, workingDirectory: workingDirectory)]
        } ?? []
    }

    /// How to get writes back where a folder is not mapped: the cause's own remedy, or a
    /// smaller folder that can be (a subfolder as the working directory, or granted).
    private static func remedy(for obstacle: String, workingDirectory: Bool) -> String {
        let smaller = workingDirectory ? "run from a subfolder that passes (--cwd DIR) or grant one (--rw DIR)" : "grant a subfolder that passes instead"
        if obstacle.contains("a set-uid or set-gid file") || obstacle.contains("with a file capability") {
            return "; to write there, take that file out of the folder (or its set-id bits or capability off it), or \(smaller)"
        }
        if obstacle.contains("too many to check") || obstacle.contains("holds a mount point") {
            return "; to write there, \(smaller)"
        }
        return ""
    }

    /// The same for a folder granted read-write for one run (`Command.filesystemGrants`).
    public func warnings(forReadWriteGrant directory: String) -> [String] {
        guard options.workingDirectoryAsOwner, IsolationSupport.isRoot, policy.user == .automatic else { return [] }
        return Self.notMapped(directory, workingDirectory: false)
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

    /// This executor, but a command running as a leased uid (Confine as root, `user: automatic`)
    /// writes in its working directory as the directory's owner: the directory is mounted onto
    /// itself in the command's mount namespace idmapped, the owner's uid and gid shown as the
    /// command's (`IdmappedMounts`). What the command makes there is the owner's on disk.
    ///
    /// The command then has the owner's authority over everything the owner owns below the
    /// directory: it can read the owner's 0600 files there, change them (build scripts, `.git`
    /// hooks the owner will run later) and their modes. It cannot make set-uid or set-gid files
    /// or devices (the launcher's own seccomp filter, whatever the policy allows), and a
    /// directory that already holds a set-uid or set-gid file of its owner, that others may
    /// write, or that sits on a filesystem that cannot be idmapped is not mapped (a warning, see
    /// `warnings(forWorkingDirectory:)`). For a program that runs commands for the user who owns
    /// the directory (`confine run`); not for a service that runs them on behalf of others.
    /// - Throws: `ConfineError` as `init` does.
    public func writingAsWorkingDirectoryOwner() throws -> Executor {
        var options = self.options
        options.workingDirectoryAsOwner = true
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
        // A folder in a mount's source is where the caller put the command (a function's code at
        // /code): the view has it through the mount, not through the working-directory rules.
        if !command.mounts.isEmpty, requested.hasPrefix("/"), let real = SystemCalls.realPath(requested),
           command.mounts.contains(where: { $0.shown(real) != nil }) {
            return real
        }
        return try WorkingDirectoryCheck.resolve(requested, policy: policy, grants: command.filesystemGrants)
    }

    /// Whether the working directory `resolved` was asked for by its own path. Resolving a path
    /// through a symbolic link (which whoever owns the folder holding it may point anywhere,
    /// between any two checks) could land in a folder of root's whose own path passes every
    /// check. This process's own folder (by default, or named) also needs the shell's $PWD, if
    /// any, to name it: a `cd` through a link leaves $PWD on the link's path, and a $PWD that
    /// names another folder is not trusted either way.
    private static func askedByItsOwnPath(_ resolved: String, command: Command, policy: Policy) -> Bool {
        let here = FileManager.default.currentDirectoryPath
        let requested = command.workingDirectory ?? policy.workingDirectory ?? here
        // `.` and `..` resolved as text (Foundation's URL did the same, at ~0.1 ms of every run)
        let asked = PolicyReader.standardized(requested.hasPrefix("/") ? requested : here + "/" + requested)
        guard resolved == asked else { return false }
        guard asked == here, let raw = getenv("PWD") else { return true }
        let shell = String(cString: raw)
        return !shell.hasPrefix("/") || PolicyReader.standardized(shell) == asked
    }

    /// The executor of the top-level functions: the `default` policy, made on first use.
    /// - Throws: `ConfineError` as `init(policyNamed:)` does.
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
    /// - Throws: `ConfineError` (not found, not executable, refused, bad arguments).
    public func execute(_ command: Command) throws -> CompletedProcess {
        let (_, shot, launch) = try start(command)
        return try finish(shot.waitBlocking(), launch)
    }

    /// The blocking twin, which another thread may cancel (`cancellation.cancel()`, e.g. from a
    /// handler of SIGTERM): the command's whole process tree is killed, as task cancellation
    /// does for `execute(_:) async`, and its lease (uid, home, cgroup) is given back before this
    /// returns. With `command.cancellationIsResult` a cancelled command is a result (`.killed`).
    /// - Throws: `ConfineError` (not found, not executable, refused, bad arguments);
    ///   `CancellationError` when cancelled without `cancellationIsResult`.
    public func execute(_ command: Command, cancellation: Cancellation) throws -> CompletedProcess {
        let (execution, shot, launch) = try start(command)
        cancellation.attach(execution)
        return try finish(shot.waitBlocking(), launch)
    }

    /// Cancels a command run by `execute(_:cancellation:)`, from any thread; a cancel before
    /// the command started takes effect as soon as it does.
    public final class Cancellation: @unchecked Sendable {
        private let lock = Lock()
        private var cancelled = false
        private var execution: Execution?

        public init() {}

        public func cancel() {
            lock.lock()
            cancelled = true
            let running = execution
            lock.unlock()
            if let running { Reactor.shared.cancel(running) }
        }

        func attach(_ running: Execution) {
            lock.lock()
            execution = running
            let now = cancelled
            lock.unlock()
            if now { Reactor.shared.cancel(running) }
        }
    }

    struct Launch {
        var command: Command
        var policy: Policy
        var timeout: Duration?
        var workingDirectory: String?
        var uid: UInt32?
        /// A one-shot launcher (the command's monitor), to be waited for once it reported.
        var launcher: pid_t?
    }

    /// Prepares and sends one command: its folder and environment, its executable checked
    /// against the policy, its lease (uid, home, cgroup), its isolation plan and descriptors.
    /// Whatever fails before the request is sent gives the lease back; after, the execution
    /// gives it back once the command's whole tree is gone.
    private func start(_ command: Command) throws -> (Execution, OneShot<Execution.Outcome>, Launch) {
        let policy = command.policy ?? self.policy
        try Self.validate(command)
        var environment = try CommandEnvironment(command: command, policy: policy,
                                                 workingDirectory: try workingDirectory(of: command, policy: policy))
        let found = try CommandResolver.resolve(command.arguments[0], searchPath: environment.searchPath,
                                                workingDirectory: environment.workingDirectory)
        let executable = CommandResolver.canonical(found)
        let own = command.policy == nil
        try (own ? prepared.commands : CommandMatcher(policy)).enforce(executable: executable, searchPath: environment.searchPath)
        if !own, !policy.isolation.isEmpty { _ = try IsolationSupport.check(policy) }
        let timeout = Self.timeout(of: command, policy: policy)

        let lease = try CommandLease(user: policy.user)
        var sent = false
        defer { if !sent { lease.release() } }
        if environment.needsHome { environment.adopt(home: try lease.acquireHome()) }
        let filter = command.learning ? try filters.filter(for: policy, mode: .learn)
            : own ? prepared.filter : try filters.filter(for: policy, mode: mode)
        var request = LaunchRequest(
            executable: executable,
            arguments: command.argv,
            environment: environment.entries,
            workingDirectory: environment.workingDirectory,
            filter: filter,
            rlimits: LaunchRequest.rlimits(of: policy.rlimits),
            identity: lease.identity)
        // Every command of a leased uid, mapped or not: a folder mapped for an earlier command
        // of this uid (in any process) may still be reachable through a descriptor passed out.
        request.setIDGuard = lease.leasedUID != nil
        // A leased uid writes in its working directory as the directory's owner, when asked
        // (writingAsWorkingDirectoryOwner) and safe (IdmappedMounts).
        // Each folder mapped only as the folder the check examined (its device and inode go to
        // the launcher, which refuses another found at that path).
        var identities: [String: IdmappedMounts.Identity] = [:]
        func mappable(_ path: String) -> Bool {
            let checked = IdmappedMounts.check(path)
            guard checked.obstacle == nil, let identity = checked.identity else { return false }
            identities[path] = identity
            return true
        }
        // Only asked when a mapping could apply (a getcwd and a getenv each, per command).
        let asOwner = options.workingDirectoryAsOwner && lease.leasedUID != nil
            && policy.isolation.filesystem?.workingDirectory == .readWrite
            && environment.workingDirectory.map { Self.askedByItsOwnPath($0, command: command, policy: policy) && mappable($0) } == true
        // Read-write grants too (a folder named by `confine run --rw`), each checked the same way.
        let grantsAsOwner = options.workingDirectoryAsOwner && lease.leasedUID != nil
            ? Set(command.filesystemGrants.filter { $0.value == .readWrite && mappable($0.key) }.keys) : []
        // The policy's own readWrite folders too, for every command of a leased uid (the policy's
        // author made them writable): each resolved once, checked and mapped the same way.
        let readWriteAsOwner: [String: String] = lease.leasedUID == nil ? [:]
            : Dictionary((policy.isolation.filesystem?.readWrite ?? []).compactMap { path in
                let canonical = WorkingDirectoryCheck.canonical(path)
                return mappable(canonical) ? (path, canonical) : nil
            }, uniquingKeysWith: { first, _ in first })
        // A command under this process's own uid gets the Landlock scopes even with no isolation
        // at all: it must not signal this process or others of the user.
        let scopesOnly = !IsolationSupport.isRoot && IsolationSupport.landlockABI >= 6
        let plan = policy.isolation.isEmpty && command.mounts.isEmpty && (command.privateTmpSize ?? 0) == 0 && !scopesOnly ? nil
            : IsolationPlan(policy.isolation, workingDirectory: environment.workingDirectory.flatMap { command.shown($0) == $0 ? $0 : nil }, home: lease.home,
                            executable: executable, grants: command.filesystemGrants, workingDirectoryAsOwner: asOwner,
                            grantsAsOwner: grantsAsOwner, ownWorkingDirectory: policy.workingDirectory.flatMap(SystemCalls.realPath),
                            mounts: command.mounts, privateTmpSize: command.privateTmpSize, readWriteAsOwner: readWriteAsOwner)
        // The program and the folder as the command sees them: beneath a mount's target when
        // they lie in its source (checked above by their host paths).
        if !command.mounts.isEmpty {
            request.executable = command.shown(executable)
            request.workingDirectory = environment.workingDirectory.map(command.shown)
            request.mountSources = command.mountSources
        }
        // A mount shows its source past the modes of the folders above it: whatever the view,
        // never one that holds a protected file.
        for mount in command.mounts {
            if let hidden = protectedPaths.first(where: { WorkingDirectoryRules.isWithin($0, mount.source) }) {
                throw ConfineError(.workingDirectoryNotAdmitted,
                                   "the folder mounted at \(mount.target), \(PythonRepr.string(mount.source)), holds \(hidden), a file this executor keeps hidden (the service's configuration or audit store); keep the code in a folder of its own",
                                   path: mount.source)
            }
        }
        // What each rule shows of the host: a mount its source; a private /tmp nothing of it.
        let sources = command.mountSources
        let shown: [(access: UInt32, path: String)] = (plan?.rules ?? []).compactMap { rule in
            if rule.access & IsolationPlan.mount != 0 { return (rule.access, sources[rule.path] ?? rule.path) }
            if plan?.privateTmp == true && (rule.path == "/tmp" || rule.path == "/dev/shm") { return nil }
            return rule
        }
        try WorkingDirectoryCheck.checkProtected(protectedPaths, rules: shown, hasView: (plan?.flags ?? 0) & UInt32(CFL_ISO_LANDLOCK) != 0,
                                                 ownUID: lease.identity == nil, policy: policy)
        if let plan {
            request.isolationFlags = plan.flags
            request.landlockScopes = plan.scopes
            request.filesystemRules = plan.rules
            request.identities = identities
            request.tmpSize = plan.tmpSize
            request.shmSizeMiB = plan.shmSizeMiB
            if policy.isolation.usesCgroups && Cgroups.available {
                request.cgroups = try lease.acquireCgroup(for: policy.isolation)
            }
        }

        let descriptors: CommandDescriptors
        do { descriptors = try CommandDescriptors(for: command) } catch {
            throw Self.startError(error, command)
        }
        defer { descriptors.closeChildEnds() }
        let shot = OneShot<Execution.Outcome>()
        let execution = Execution(
            status: descriptors.status, stdin: descriptors.stdin, input: descriptors.input,
            stdout: descriptors.stdout, stderr: descriptors.stderr,
            outputLimit: policy.outputLimit,
            deadline: timeout.map { ContinuousClock.now.advanced(by: $0) },
            onComplete: { reported in
                var outcome = reported
                // Read the cgroup before its uid (and leaf) can serve the next command.
                (outcome.memoryPeak, outcome.oomKilled) = lease.collectUsage()
                // The lease goes back only when the whole tree is known to be gone; if the
                // monitor died first, processes of that uid may live on.
                if outcome.waitStatus != nil || outcome.failure != nil { lease.release() }
                shot.fulfill(outcome)
            })
        execution.onOutput = command.onOutput
        let launcher: pid_t?
        do {
            launcher = try helper.send(request.encode(), fds: descriptors.child)
        } catch {
            descriptors.closeParentEnds()
            throw Self.startError(error, command)
        }
        sent = true
        Reactor.shared.add(execution)
        return (execution, shot, Launch(command: command, policy: policy, timeout: timeout,
                                          workingDirectory: environment.workingDirectory, uid: lease.identity?.uid,
                                          launcher: launcher))
    }

    /// The command's own timeout, or its policy's when that is shorter; none past a century
    /// (which would overflow the clock).
    private static func timeout(of command: Command, policy: Policy) -> Duration? {
        var timeout = command.timeout
        if let limit = policy.timeout, timeout.map({ limit < $0 }) ?? true { timeout = limit }
        if let t = timeout, t > .seconds(3_153_600_000) { return nil }
        return timeout
    }

    /// A failure to open descriptors or reach the launcher, as the `ConfineError` callers get;
    /// a system call's errno is kept.
    private static func startError(_ error: Error, _ command: Command) -> ConfineError {
        if let error = error as? ConfineError { return error }
        return ConfineError(.launcherFailed, "cannot start \(PythonRepr.list(command.arguments)): \(error)",
                            errno: (error as? SystemCallError)?.errno)
    }

    private func finish(_ outcome: Execution.Outcome, _ launch: Launch) throws -> CompletedProcess {
        if let launcher = launch.launcher {
            // One command and then, most likely, exit: wait for its launcher and for its home
            // to be emptied, so that nothing of it is left behind.
            SpawnHelper.reaper.wait(for: launcher)
            PrivateHome.waitForReleases()
        }
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
            refused: Self.reported(outcome.refused, policy: launch.policy, learning: command.learning),
            memoryPeak: outcome.memoryPeak, oomKilled: outcome.oomKilled)
    }

    /// The refusals worth reporting: all when learning, else those the policy does not expect
    /// (`seccomp.quiet`).
    static func reported(_ refused: [RefusedCall], policy: Policy, learning: Bool) -> [RefusedCall] {
        let quiet = policy.seccomp.quiet
        guard !learning, !quiet.isEmpty, !refused.isEmpty else { return refused }
        return refused.filter { call in !quiet.contains { $0.matches(name: call.name, arguments: call.arguments) } }
    }

    static func validate(_ command: Command) throws {
        guard let first = command.arguments.first, !first.isEmpty else {
            throw ConfineError(.invalidArgument, "the command is empty: give at least a program name (argv[0])")
        }
        for (i, argument) in command.argv.enumerated() where argument.contains(0) {
            throw ConfineError(.invalidArgument, "argument \(i) (\(PythonRepr.string(String(decoding: argument, as: UTF8.self)))) contains a NUL byte, which no program can receive")
        }
        for path in command.filesystemGrants.keys.sorted() {
            // Opened as given without following links, so it must be the path itself.
            if let resolved = SystemCalls.realPath(path), resolved != path {
                throw ConfineError(.invalidArgument, "the granted path \(PythonRepr.string(path)) is not canonical (it resolves to \(PythonRepr.string(resolved))): grant the resolved path (FilesystemGrants.admit returns it)", path: path)
            }
        }
        var targets: Set<String> = []
        for mount in command.mounts {
            let target = mount.target
            guard target.hasPrefix("/"), target.count > 1, !target.dropFirst().contains("/"), target != "/.", target != "/..",
                  !target.utf8.contains(0), !Command.Mount.reserved.contains(target) else {
                throw ConfineError(.invalidArgument, "the mount target \(PythonRepr.string(target)) is not accepted: give one top-level name such as /code, not a system tree (\(Command.Mount.reserved.sorted().joined(separator: " ")))", path: target)
            }
            guard targets.insert(target).inserted else {
                throw ConfineError(.invalidArgument, "the mount target \(PythonRepr.string(target)) is given twice", path: target)
            }
            var info = stat()
            guard mount.source.hasPrefix("/"), stat(mount.source, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw ConfineError(.invalidArgument, "the mount source \(PythonRepr.string(mount.source)) is not a folder", path: mount.source)
            }
            if let resolved = SystemCalls.realPath(mount.source), resolved != mount.source {
                throw ConfineError(.invalidArgument, "the mount source \(PythonRepr.string(mount.source)) is not canonical (it resolves to \(PythonRepr.string(resolved))): give the resolved path", path: mount.source)
            }
        }
        if !command.mounts.isEmpty && !IsolationSupport.mountNamespaces {
            throw ConfineError(.invalidArgument, "mounts (\(command.mounts.map(\.target).joined(separator: ", "))) need a mount namespace, which needs Confine to run as root or user namespaces this user may make: check IsolationSupport.mountNamespaces first")
        }
        if command.mounts.count > Int(CFL_MAX_MOUNTS) {
            throw ConfineError(.invalidArgument, "\(command.mounts.count) mounts: at most \(CFL_MAX_MOUNTS) are accepted")
        }
        if let bytes = command.argumentBytes, bytes.count != command.arguments.count {
            throw ConfineError(.invalidArgument, "argumentBytes has \(bytes.count) arguments and arguments \(command.arguments.count): set both with init(bytes:)")
        }
        for (key, value) in command.environment ?? [:] {
            if key.isEmpty || key.contains("=") || key.utf8.contains(0) || value.utf8.contains(0) {
                throw ConfineError(.invalidArgument, "environment variable \(PythonRepr.string(key)) is invalid: names must be non-empty without '=' or NUL, values without NUL")
            }
        }
        for (name, value) in command.environmentBytes ?? [:] where name.isEmpty || name.contains(0x3D) || name.contains(0) || value.contains(0) {
            throw ConfineError(.invalidArgument, "environment variable \(PythonRepr.string(String(decoding: name, as: UTF8.self))) is invalid: names must be non-empty without '=' or NUL, values without NUL")
        }
        if let directory = command.workingDirectory, directory.utf8.contains(0) || directory.isEmpty {
            throw ConfineError(.invalidArgument, "the working directory \(PythonRepr.string(directory)) is empty or contains a NUL byte")
        }
        if let timeout = command.timeout, timeout < .zero {
            throw ConfineError(.invalidArgument, "timeout \(timeout.seconds) is negative (accepted: zero or more seconds)")
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
            case EACCES: uid.map { " (the command runs as uid \($0), its own: a folder on the path admits no other user; run it from a folder every user may enter — each folder on the path needs o+x — or under a policy with \"user\": \"inherit\")" } ?? ""
            case ELOOP: " (a symbolic link appeared in the path after it was checked)"
            default: ""
            }
            return ConfineError(code, "cannot enter the working directory\(folder): \(ConfineError.errnoText(e))\(why)", errno: e, path: workingDirectory)
        case CFL_STAGE_REQUEST.rawValue:
            return ConfineError(.launcherFailed, "confine-launch rejected the request (a launcher of another version?)", errno: e)
        case CFL_STAGE_FORK.rawValue:
            return ConfineError(.launcherFailed, "confine-launch could not fork: \(ConfineError.errnoText(e))", errno: e)
        case CFL_STAGE_IDMAP.rawValue where e == ESTALE:
            return ConfineError(.confinementFailed, "a writable folder changed after it was checked (another folder now sits at its path): it is not mounted as the command's own; nothing ran", errno: e)
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
                CFL_STAGE_IDMAP.rawValue: "mounting a writable folder idmapped for the command's uid (isolation.filesystem\(detail >= 0 ? ", rule \(detail)" : ""))",
            ]
            return ConfineError(.confinementFailed, "confinement failed while \(steps[UInt32(stage)] ?? "step \(stage)") for policy '\(policy.name)': \(ConfineError.errnoText(e))", errno: e)
        }
    }
}

/// Compiled filters by profile: a policy is compiled once per executor (and, with a
/// `CompiledFilterStore`, once per user across runs).
final class FilterCache: @unchecked Sendable {
    private let lock = Lock()
    private struct Key: Hashable {
        var profile: SeccompProfile
        var mode: FilterMode
    }
    private var filters: [Key: CompiledFilter] = [:]
    private let store: CompiledFilterStore?
    private let storeRefusal: String?

    /// - Parameter keeping: use the user's `CompiledFilterStore` too.
    init(keeping: Bool = false) {
        store = keeping ? CompiledFilterStore.standard() : nil
        storeRefusal = keeping && store == nil ? CompiledFilterStore.lastRefusal : nil
    }

    /// Why compiled filters are not kept across runs although they were to be.
    var warnings: [String] {
        lock.lock()
        defer { lock.unlock() }
        return [storeRefusal ?? store?.refusal].compactMap { $0 }.map { "not using the compiled-filter cache: \($0); compiling the policy instead" }
    }

    func filter(for policy: Policy, mode: FilterMode) throws -> CompiledFilter {
        lock.lock()
        defer { lock.unlock() }
        let key = Key(profile: policy.seccomp, mode: mode)
        if let cached = filters[key] { return cached }
        let storeKey = store.map { _ in PolicyCompiler.cacheKey(policy.seccomp, mode: mode) }
        if let store, let storeKey, let kept = store.filter(for: storeKey) {
            filters[key] = kept
            return kept
        }
        do {
            let compiled = try PolicyCompiler.compile(policy.seccomp, mode: mode)
            filters[key] = compiled
            if let store, let storeKey { store.store(compiled, for: storeKey) }
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
    private let lock = Lock()
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
    /// - Throws: `ConfineError` when the command cannot start.
    public func learn(_ command: Command) async throws -> (result: CompletedProcess, syscalls: [String]) {
        var learning = command
        learning.learning = true
        let result = try await execute(learning)
        return (result, Set(result.refused.map(\.name)).sorted())
    }
}
