import CConfineLaunch
import CConfineProtocol
import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The long-lived `confine-launch --serve` process (a forkserver in the manner of Android's
/// zygote): started once with posix_spawn(2), it takes spawn requests over a SOCK_SEQPACKET
/// socket and forks a monitor per command. If it dies it is started again on the next request;
/// a request it had taken but not yet forked fails with a clear error.
///
/// One-shot (`oneShot`): each request starts its own `confine-launch --once`, which takes it and
/// becomes the command's monitor itself — no long-lived helper and no spare monitors, the
/// cheapest way for a short-lived program (`confine run`) to run one command.
final class SpawnHelper: @unchecked Sendable {
    /// The datagram that stands for a request sent in a memfd: the header's magic and flags.
    static let memfdStubSize = MemoryLayout.offset(of: \cfl_request_header.uid) ?? 8
    let launcherPath: String
    /// Before the mode: the marker for the embedded launcher, or nothing.
    private let prefix: [String]
    /// A launcher per request (`--once`) rather than one helper serving them all.
    let oneShot: Bool
    /// What a launcher makes before its request (`--net`, `--user`).
    let ahead: Ahead
    private let lock = Lock()
    /// The running helper's pid, or 0.
    private var pid: pid_t = 0
    private var control: Int32 = -1
    /// One-shot: a launcher started ahead of its request (`prestart`), waiting on its socket.
    private var ready: (control: Int32, pid: pid_t)?

    /// - Parameter network: the requests are expected to ask for a network namespace of their
    ///   own (the executor's policy does): each spare monitor, or the one-shot launcher, makes a
    ///   fresh one while it waits (`--net`, as root), so that making it (about 1 ms) is off the
    ///   request's path. A request that asks for none is run in the host's, as always.
    /// - Parameter user: (one-shot, not root) the requests are expected to ask for a user
    ///   namespace: the launcher makes it while it waits (`--user`), and with `network` the
    ///   network namespace in it. It cannot go back to the host's, so a request that asks for
    ///   neither gets a launcher started for it instead.
    convenience init(launcherPath: String, oneShot: Bool = false, network: Bool = false, user: Bool = false) {
        self.init(launcherPath: launcherPath, prefix: [], oneShot: oneShot, ahead: Ahead(user: oneShot && user, network: network))
    }

    /// The launcher linked into this program (CConfineLaunch), run by re-executing the program
    /// itself: for programs that depend on Confine and have no confine-launch file beside them.
    /// nil when /proc/self/exe cannot be read.
    static func embedded(oneShot: Bool = false, network: Bool = false, user: Bool = false) -> SpawnHelper? {
        guard cfl_embedded_launcher() == 1, let program = PolicyReader.ownExecutable else {
            return nil
        }
        return SpawnHelper(launcherPath: program, prefix: [CFL_EMBEDDED_MARKER], oneShot: oneShot,
                           ahead: Ahead(user: oneShot && user, network: network))
    }

    private init(launcherPath: String, prefix: [String], oneShot: Bool, ahead: Ahead) {
        self.launcherPath = launcherPath
        self.prefix = prefix
        self.oneShot = oneShot
        self.ahead = ahead
    }

    /// What the launcher is started with: the mode and what it makes ahead; without `--user`
    /// for a request that does not fit a launcher that makes a user namespace (`Ahead.fits`).
    func arguments(user: Bool = true) -> [String] {
        prefix + [oneShot ? "--once" : "--serve"] + (ahead.network ? ["--net"] : []) + (user && ahead.user ? ["--user"] : [])
    }

    /// The namespaces a one-shot launcher started with `arguments` makes before its request.
    struct Ahead {
        var user: Bool
        var network: Bool

        /// Whether a request (its header's namespace flags) can be run by such a launcher.
        func fits(_ payload: [UInt8]) -> Bool {
            guard user else { return true }
            let offset = MemoryLayout<cfl_request_header>.offset(of: \.iso_flags)!
            guard payload.count >= MemoryLayout<cfl_request_header>.size else { return false }
            let flags = payload.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
            return flags & UInt32(CFL_ISO_NEWUSER) != 0 && (!network || flags & UInt32(CFL_ISO_NEWNET) != 0)
        }
    }

    /// The helper exits when its control socket closes: when the last executor sharing it goes.
    deinit {
        SystemCalls.close(control)
        if pid > 0 { Self.reaper.add(pid) }
        // a launcher started ahead and never used: ended now
        if let ready {
            SystemCalls.close(ready.control)
            Self.unused.end(ready.pid)
        }
    }

    /// One-shot: starts the next request's launcher now, so that its start-up (and its network
    /// namespace, see `init`) overlaps the caller's own work on the request: about 2 ms. Only
    /// the next request is served this way. Does nothing if the launcher cannot start: `send`
    /// starts one.
    func prestart() {
        guard oneShot else { return }
        lock.lock()
        defer { lock.unlock() }
        guard ready == nil, let started = try? start() else { return }
        ready = started
        Self.unused.add(started.pid)
    }

    /// Launchers started ahead (`prestart`) that no request has reached yet. This process may
    /// end first, through exit(3) (`confine run` does on every error): they are killed and
    /// reaped then, so that none outlives it (an orphan left to an init that does not reap
    /// would stay a zombie).
    static let unused = Unused()

    final class Unused: @unchecked Sendable {
        private let lock = Lock()
        private var pids: [pid_t] = []
        private var registered = false

        func add(_ pid: pid_t) {
            lock.lock()
            defer { lock.unlock() }
            pids.append(pid)
            if !registered {
                registered = true
                atexit { SpawnHelper.unused.endAll() }
            }
        }

        /// Forgets `pid` (a request reached it); true if it was waiting.
        @discardableResult
        func remove(_ pid: pid_t) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            guard let index = pids.firstIndex(of: pid) else { return false }
            pids.remove(at: index)
            return true
        }

        /// Kills and reaps one that waits (it holds no command: nothing is lost).
        func end(_ pid: pid_t) {
            guard remove(pid) else { return }
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }

        func endAll() {
            lock.lock()
            let all = pids
            lock.unlock()
            for pid in all { end(pid) }
        }
    }

    /// Sends one request with its descriptors, starting (or restarting) the helper as needed.
    /// - Returns: in one-shot mode, the pid of the launcher that took the request (it exits once
    ///   the command's tree is gone; see `Reaper.wait(for:)`); else nil.
    @discardableResult
    func send(_ payload: [UInt8], fds: [Int32]) throws -> pid_t? {
        var fds = fds
        var payload = payload
        var memfd: Int32 = -1
        defer { SystemCalls.close(memfd) }
        if payload.count > Int(CFL_MAX_INLINE_REQUEST) {
            memfd = try SystemCalls.memfd(holding: payload)
            fds.append(memfd)
            payload = Array(payload.prefix(Self.memfdStubSize))
        }
        if oneShot {
            // A launcher of its own takes the request and becomes the command's monitor; the
            // control socket has done its work once the request is queued on it.
            lock.lock()
            let waiting = ready
            ready = nil
            lock.unlock()
            // a launcher that made a user namespace ahead runs only a request that asks for it
            let fits = ahead.fits(payload)
            if let waiting, !fits {
                SystemCalls.close(waiting.control)
                Self.unused.end(waiting.pid)
            } else if let waiting {
                Self.unused.remove(waiting.pid)
                Self.reaper.add(waiting.pid)
                defer { SystemCalls.close(waiting.control) }
                // gone since (it exits on a failed start-up): a fresh one below
                if (try? SystemCalls.send(waiting.control, payload, fds: fds)) != nil { return waiting.pid }
            }
            let (socket, launcher) = try start(user: fits)
            defer { SystemCalls.close(socket) }
            Self.reaper.add(launcher)
            do { try SystemCalls.send(socket, payload, fds: fds) } catch {
                throw ConfineError(.launcherFailed, "cannot hand the request to \(launcherPath) --once: \(error)",
                                   errno: (error as? SystemCallError)?.errno)
            }
            return launcher
        }
        for attempt in 0..<2 {
            // Sent under the lock, so a concurrent restart cannot close (and reuse) the fd mid-send.
            lock.lock()
            defer { lock.unlock() }
            let socket = try connection(restart: attempt > 0)
            do {
                try SystemCalls.send(socket, payload, fds: fds)
                return nil
            } catch let error as SystemCallError where error.errno == EPIPE || error.errno == ECONNRESET || error.errno == ENOTCONN {
                continue
            }
        }
        throw ConfineError(.launcherFailed, "the spawn helper \(launcherPath) exits as soon as it starts; run it by hand to see why")
    }

    /// The control socket of a running helper. The caller holds the lock.
    private func connection(restart: Bool) throws -> Int32 {
        if pid > 0 && !Self.isRunning(pid) { pid = 0 }  // exited, and now reaped
        if restart || pid == 0 {
            SystemCalls.close(control)
            control = -1
            if pid > 0 { Self.reaper.add(pid) }  // still running: it exits on the socket's EOF
            pid = 0
        }
        if control >= 0 { return control }
        (control, pid) = try start()
        return control
    }

    /// Starts the launcher with a fresh control socket on its stdin.
    /// - Returns: this end of the socket, and the launcher's pid.
    /// - Throws: `ConfineError(.launcherFailed)` with the errno when it cannot be started.
    private func start(user: Bool = true) throws -> (control: Int32, pid: pid_t) {
        let arguments = arguments(user: user)
        Self.reaper.reapExited()
        let (parentEnd, childEnd) = try SystemCalls.seqpacketPair()
        defer { SystemCalls.close(childEnd) }
        var argv: [UnsafeMutablePointer<CChar>?] = ([launcherPath] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: Int32 = 0
        let err = CConfine_spawn_helper(launcherPath, &argv, childEnd, &child)
        guard err == 0 else {
            SystemCalls.close(parentEnd)
            throw ConfineError(.launcherFailed, "cannot start the spawn helper \(launcherPath): \(ConfineError.errnoText(err))", errno: err, path: launcherPath)
        }
        return (parentEnd, child)
    }

    /// Whether the helper still runs; reaps it if it has exited.
    private static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        return reaped == 0 || (reaped < 0 && errno == EINTR)
    }

    /// Helpers and one-shot launchers that have been let go, waited for without blocking each
    /// time another starts (a one-shot launcher exits once its command's tree is gone).
    static let reaper = Reaper()

    final class Reaper: @unchecked Sendable {
        private let lock = Lock()
        private var pending: [pid_t] = []

        func add(_ pid: pid_t) {
            lock.lock()
            pending.append(pid)
            lock.unlock()
        }

        /// Waits for a one-shot launcher that has reported its command's end: it exits right after
        /// its last report (or is gone already, its status socket closed), so this does not block.
        func wait(for pid: pid_t) {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            lock.lock()
            pending.removeAll { $0 == pid }
            lock.unlock()
        }

        /// Waits (WNOHANG) for each pending pid; keeps those still running. A pid someone else
        /// reaped (ECHILD) is dropped.
        func reapExited() {
            lock.lock()
            defer { lock.unlock() }
            pending.removeAll { pid in
                var status: Int32 = 0
                return waitpid(pid, &status, WNOHANG) != 0
            }
        }
    }

    /// The helper's pid, while it runs.
    var processIdentifier: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if pid > 0 && !Self.isRunning(pid) { pid = 0 }
        return pid > 0 ? pid : nil
    }

    /// Where `confine-launch` is: `$CONFINE_LAUNCH`, next to the running executable, or in a
    /// build folder of the package above it.
    static func locateLauncher() -> String? {
        let fm = FileManager.default
        if let value = getenv("CONFINE_LAUNCH"), case let explicit = String(cString: value), !explicit.isEmpty {
            return explicit
        }
        // Each place looked at only when the one before holds none (this runs before every
        // `confine run`): beside the executable, beside argv[0] with links resolved, installed.
        func beside(_ executable: String) -> String? {
            guard let slash = executable.lastIndex(of: "/") else { return nil }
            let candidate = String(executable[..<slash]) + "/confine-launch"
            return fm.isExecutableFile(atPath: candidate) ? candidate : nil
        }
        if let main = PolicyReader.ownExecutable, let found = beside(main) { return found }
        if let argv0 = CommandLine.arguments.first, argv0.contains("/"), let resolved = SystemCalls.realPath(argv0), let found = beside(resolved) {
            return found
        }
        return ["/usr/local/libexec/confine-launch", "/usr/local/bin/confine-launch", "/usr/libexec/confine-launch"].first { fm.isExecutableFile(atPath: $0) }
    }
}
