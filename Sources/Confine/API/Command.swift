import ConfinePolicy

/// Everything about one command to run: what, with which streams, where, for how long,
/// under which policy. `Executor.execute` takes it; `run`/`checkOutput` build it.
public struct Command: Sendable {
    /// The program and its arguments. For arguments that are not UTF-8, see `argumentBytes`.
    public var arguments: [String]
    /// The arguments as bytes, exactly as the program receives them: for a file name that is not
    /// UTF-8 (bytes such as f0 90 80), which a `String` cannot hold — as Python passes the
    /// `bytes` of `os.fsencode`. When set (`init(bytes:)`), the command gets these, and
    /// `arguments` is only their readable form (U+FFFD in place of bytes that are not UTF-8),
    /// used in messages and records. The program (the first) is found by its readable form.
    public var argumentBytes: [[UInt8]]?
    public var stdin: InputSource
    public var stdout: OutputDestination
    public var stderr: OutputDestination
    /// The whole environment of the command (Python's `env=`); `nil` gives the policy's. For
    /// names or values that are not UTF-8, see `environmentBytes`.
    public var environment: [String: String]?
    /// The whole environment as bytes, exactly as the program receives it: for a value (or name)
    /// that is not UTF-8, which a `String` cannot hold — as Python's `env=` takes `bytes` (what
    /// `os.environb` holds). When set, the command gets these (names non-empty, without `=` or
    /// NUL; values without NUL), and setting it makes `environment` their readable form (U+FFFD in
    /// place of bytes that are not UTF-8), used to find the program in PATH and for HOME and
    /// TMPDIR, which are added when missing as with `environment`.
    public var environmentBytes: [[UInt8]: [UInt8]]? {
        didSet {
            environment = environmentBytes.map {
                Dictionary($0.map { (String(decoding: $0.key, as: UTF8.self), String(decoding: $0.value, as: UTF8.self)) }) { first, _ in first }
            }
        }
    }
    /// Where the command starts; `nil` gives the policy's, or else the caller's. Under a
    /// filesystem view the folder must be one the policy admits
    /// (`isolation.filesystem.workingDirectories`), after symlinks and `..` are resolved.
    public var workingDirectory: String?
    /// Start in a fresh folder of the command's own (its private HOME, emptied afterwards; `/tmp`
    /// under a private tmpfs) instead of `workingDirectory`: what a service does for callers
    /// that name no folder, so a command never starts in the service's own directory.
    public var privateWorkingDirectory = false
    /// Wall-clock limit; the policy's `timeout` still applies if it is shorter.
    public var timeout: Duration?
    /// The policy to use instead of the executor's.
    public var policy: Policy?
    /// Called on the executor's I/O thread with each piece of captured output as it arrives
    /// (only what the output cap keeps): for streaming to a client. Keep it short; it must not block.
    public var onOutput: (@Sendable (OutputChunk) -> Void)?
    /// When the calling task is cancelled the tree is killed; with this set, `execute` then
    /// returns the record (status `.killed`, output so far) instead of throwing CancellationError.
    public var cancellationIsResult = false
    /// Extra paths the command may reach when its policy restricts the filesystem
    /// (`isolation.filesystem`): e.g. a function's code directory.
    public var filesystemGrants: [String: Isolation.Access] = [:]
    /// Folders shown to the command at a top-level path of their own, as Function Compute shows
    /// a function's code at `/code`: in the command's own mount namespace, whose root is then a
    /// read-only copy of the host's with each mount's source at its target. The source is
    /// reachable there whatever the modes of the folders above it (only its own apply), and a
    /// path beneath a source given as the program or the working directory is passed as the
    /// same path beneath the target. Needs mount namespaces (Confine as root:
    /// `IsolationSupport.mountNamespaces`); `execute` throws `.invalidArgument` otherwise, and for
    /// a target that is not one free top-level name or a source that is not a canonical folder.
    public var mounts: [Mount] = []
    /// A private tmpfs on `/tmp` (and `/dev/shm`) of this many bytes, as the policy's
    /// `isolation.filesystem.tmp` gives (this size wins): `/tmp` then is the command's own,
    /// writable, and its HOME and TMPDIR. Pages are charged to the command's memory cgroup. Only
    /// with mount namespaces (as root); ignored otherwise, as the policy's is.
    public var privateTmpSize: UInt64?
    /// Let calls the policy refuses go ahead and report them (`Executor.learn`).
    var learning = false

    public init(
        _ arguments: [String],
        stdin: InputSource = .inherit,
        stdout: OutputDestination = .inherit,
        stderr: OutputDestination = .inherit,
        environment: [String: String]? = nil,
        workingDirectory: String? = nil,
        timeout: Duration? = nil,
        policy: Policy? = nil
    ) {
        self.arguments = arguments
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.timeout = timeout
        self.policy = policy
    }

    /// A command whose arguments are bytes (any but NUL), passed to the program unchanged.
    public init(
        bytes arguments: [[UInt8]],
        stdin: InputSource = .inherit,
        stdout: OutputDestination = .inherit,
        stderr: OutputDestination = .inherit,
        environment: [String: String]? = nil,
        workingDirectory: String? = nil,
        timeout: Duration? = nil,
        policy: Policy? = nil
    ) {
        self.init(arguments.map { String(decoding: $0, as: UTF8.self) }, stdin: stdin, stdout: stdout, stderr: stderr,
                  environment: environment, workingDirectory: workingDirectory, timeout: timeout, policy: policy)
        argumentBytes = arguments
    }

    /// What the program receives: `argumentBytes` when set, else the UTF-8 of `arguments`.
    var argv: [[UInt8]] { argumentBytes ?? arguments.map { Array($0.utf8) } }
}

extension Command {
    /// A folder shown at another path (`Command.mounts`).
    public struct Mount: Sendable, Hashable {
        /// The folder on the host: absolute and canonical (no symbolic link, `.` or `..`).
        public var source: String
        /// Where the command sees it: one top-level name, such as `/code`.
        public var target: String
        /// Read-write instead of read-only (nosuid and nodev either way).
        public var writable: Bool

        public init(source: String, target: String, writable: Bool = false) {
            self.source = source
            self.target = target
            self.writable = writable
        }

        /// Top-level names a mount may not take: the system's own trees.
        static let reserved: Set<String> = ["/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media",
                                            "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var"]

        /// `path` as the command sees it: the same path beneath the target when it lies in the
        /// source; nil when it does not.
        public func shown(_ path: String) -> String? {
            if path == source { return target }
            if path.hasPrefix(source == "/" ? "/" : source + "/") { return target + path.dropFirst(source.count == 1 ? 0 : source.count) }
            return nil
        }
    }

    /// `variables` as bytes with `overrides` laid over them, for `environmentBytes`: a policy's
    /// environment plus a caller's variables that are not UTF-8.
    public static func environmentBytes(_ variables: [String: String], overriddenBy overrides: [[UInt8]: [UInt8]]) -> [[UInt8]: [UInt8]] {
        var bytes = Dictionary(variables.map { (Array($0.key.utf8), Array($0.value.utf8)) }) { first, _ in first }
        bytes.merge(overrides) { $1 }
        return bytes
    }

    /// Each mount's source by its target (targets are unique: `Executor.validate`).
    var mountSources: [String: String] {
        Dictionary(mounts.map { ($0.target, $0.source) }) { first, _ in first }
    }

    /// `path` as the command sees it through its mounts.
    func shown(_ path: String) -> String {
        for mount in mounts { if let shown = mount.shown(path) { return shown } }
        return path
    }
}

/// A piece of a command's captured output, as it arrived.
public struct OutputChunk: Sendable {
    public enum Stream: String, Sendable { case stdout, stderr }
    public var stream: Stream
    public var bytes: [UInt8]
}
