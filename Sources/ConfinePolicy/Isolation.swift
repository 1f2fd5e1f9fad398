/// Confinement beyond syscalls: what the command can see of the filesystem, the network and
/// other processes, and how much memory and CPU it gets. Each part is off unless the policy
/// turns it on; with `required`, a part the kernel cannot provide is an error, never a silent
/// fallback to weaker confinement.
///
/// ```json
/// "isolation": {
///   "required": true,
///   "filesystem": { "readOnly": ["/usr", "/etc/passwd"], "readWrite": [], "tmp": "64MiB",
///                   "workingDirectory": "readWrite", "readOnlyRoot": true, "writableExecutable": false,
///                   "grants": "readOnly" },
///   "network": "none",
///   "processes": { "namespace": true, "max": 256 },
///   "ipc": "private",
///   "memory": "512MiB",
///   "cpu": 1.0
/// }
/// ```
public struct Isolation: Sendable, Hashable {
    public enum Access: String, Sendable, Hashable, CaseIterable {
        case none, readOnly, readWrite
    }

    /// Paths the command may reach; everything else is out of its sight (Landlock), with a
    /// private tmpfs on /tmp and /dev/shm (a mount namespace).
    public struct Filesystem: Sendable, Hashable {
        /// Readable and executable.
        public var readOnly: [String] = []
        /// Readable, writable and executable.
        public var readWrite: [String] = []
        /// Size of the private tmpfs on /tmp and /dev/shm, in bytes; nil: no private /tmp (the host's is
        /// then out of reach unless listed).
        public var tmp: UInt64?
        /// What the command may do in its working directory.
        public var workingDirectory: Access = .readOnly
        /// Every mount read-only in the command's view (besides Landlock), but the readWrite paths.
        public var readOnlyRoot = false
        /// Which working directories the policy admits, as rules (see `WorkingDirectoryRules`):
        /// the working directory joins the view with `workingDirectory` access, so a directory
        /// no rule admits is refused rather than let the caller widen the view.
        public var workingDirectories: [String] = WorkingDirectoryRules.standard
        /// Whether files in the places the command may write (its private HOME/TMPDIR or /tmp,
        /// /dev/shm, the readWrite paths, a readWrite working directory, read-write grants) can
        /// be executed: a script it wrote, a tool it downloaded (what functions do with /tmp on
        /// Function Compute and Lambda). False: those places are writable but not executable
        /// (Landlock's EXECUTE right is withheld), so only what the view shows read-only runs.
        public var writableExecutable = true
        /// The most a caller may add to the view for one run (`confine run --ro/--rw`, a
        /// function's `grants`): `none`, `readOnly`, or `readWrite`. A granted path must also
        /// be one `workingDirectories` admits (no system tree, no home or dot-folder itself).
        public var grants: Access = .none

        public init(readOnly: [String] = [], readWrite: [String] = [], tmp: UInt64? = nil,
                    workingDirectory: Access = .readOnly, readOnlyRoot: Bool = false,
                    workingDirectories: [String] = WorkingDirectoryRules.standard, writableExecutable: Bool = true,
                    grants: Access = .none) {
            self.writableExecutable = writableExecutable
            self.grants = grants
            self.readOnly = readOnly
            self.readWrite = readWrite
            self.tmp = tmp
            self.workingDirectory = workingDirectory
            self.readOnlyRoot = readOnlyRoot
            self.workingDirectories = workingDirectories
        }
    }

    public enum Network: String, Sendable, Hashable, CaseIterable {
        /// The host's network (the seccomp socket rules still apply).
        case host
        /// A network namespace of its own: only loopback, no host abstract sockets.
        case none
    }

    /// Fail instead of running with less isolation than asked when the kernel lacks a part.
    public var required = false
    public var filesystem: Filesystem?
    public var network: Network = .host
    /// A PID namespace: the command sees and signals only its own processes.
    public var pidNamespace = false
    /// A pids cgroup limit for the whole tree (RLIMIT_NPROC counts per uid, and not for root).
    public var maxProcesses: Int?
    /// A SysV IPC / POSIX message queue namespace of its own.
    public var privateIPC = false
    /// A cgroup memory limit for the whole tree, in bytes (resident memory, not address space).
    public var memory: UInt64?
    /// A CPU quota in cores (0.5 = half a core), for the whole tree.
    public var cpu: Double?

    public init() {}

    /// True when nothing beyond syscalls and rlimits is asked for.
    public var isEmpty: Bool {
        filesystem == nil && network == .host && !pidNamespace && maxProcesses == nil && !privateIPC && memory == nil && cpu == nil
    }

    /// Whether any part needs a cgroup.
    public var usesCgroups: Bool { maxProcesses != nil || memory != nil || cpu != nil }
}

extension Isolation {
    /// The `isolation` object of a policy file that reads back as this value (for policies
    /// Confine writes: learned and imported ones keep their base's isolation).
    public var jsonObject: [String: Any] {
        var object: [String: Any] = ["required": required, "network": network.rawValue, "ipc": privateIPC ? "private" : "host"]
        var processes: [String: Any] = ["namespace": pidNamespace]
        if let maxProcesses { processes["max"] = maxProcesses }
        object["processes"] = processes
        if let memory { object["memory"] = Quantity.format(bytes: memory) }
        if let cpu { object["cpu"] = cpu }
        if let filesystem {
            var view: [String: Any] = [
                "readOnly": filesystem.readOnly, "readWrite": filesystem.readWrite,
                "workingDirectory": filesystem.workingDirectory.rawValue, "readOnlyRoot": filesystem.readOnlyRoot,
                "writableExecutable": filesystem.writableExecutable, "grants": filesystem.grants.rawValue,
            ]
            if let tmp = filesystem.tmp { view["tmp"] = Quantity.format(bytes: tmp) }
            if filesystem.workingDirectories != WorkingDirectoryRules.standard { view["workingDirectories"] = filesystem.workingDirectories }
            object["filesystem"] = view
        }
        return object
    }
}

extension Isolation {
    /// A one-line account of the parts in force ("filesystem view, network none, ..."), or "none".
    public var summary: String {
        var parts: [String] = []
        if let filesystem {
            parts.append("filesystem view (working directory \(filesystem.workingDirectory.rawValue)\(filesystem.tmp.map { ", private /tmp of \(Quantity.format(bytes: $0))" } ?? ""))")
        }
        if network == .none { parts.append("network none") }
        if pidNamespace { parts.append("PID namespace") }
        if privateIPC { parts.append("private IPC") }
        if let maxProcesses { parts.append("at most \(maxProcesses) processes") }
        if let memory { parts.append("\(Quantity.format(bytes: memory)) of memory") }
        if let cpu { parts.append("\(cpu) cores") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}
