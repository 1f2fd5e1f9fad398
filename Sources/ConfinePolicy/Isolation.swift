/// Confinement beyond syscalls: what the command can see of the filesystem, the network and
/// other processes, and how much memory and CPU it gets. Each part is off unless the policy
/// turns it on; with `required`, a part the kernel cannot provide is an error, never a silent
/// fallback to weaker confinement.
///
/// ```json
/// "isolation": {
///   "required": true,
///   "filesystem": { "readOnly": ["/usr", "/etc/passwd"], "readWrite": [], "tmp": "64MiB",
///                   "workingDirectory": "readWrite", "readOnlyRoot": true },
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
        /// Size of the private tmpfs on /tmp and /dev/shm; nil: no private /tmp (the host's is
        /// then out of reach unless listed).
        public var tmp: UInt64?
        /// What the command may do in its working directory.
        public var workingDirectory: Access = .readOnly
        /// Every mount read-only in the command's view (besides Landlock), but the readWrite paths.
        public var readOnlyRoot = false

        public init(readOnly: [String] = [], readWrite: [String] = [], tmp: UInt64? = nil,
                    workingDirectory: Access = .readOnly, readOnlyRoot: Bool = false) {
            self.readOnly = readOnly
            self.readWrite = readWrite
            self.tmp = tmp
            self.workingDirectory = workingDirectory
            self.readOnlyRoot = readOnlyRoot
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
    /// A cgroup memory limit for the whole tree (resident memory, not address space).
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
