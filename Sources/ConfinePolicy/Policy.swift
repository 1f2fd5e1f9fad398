/// A named, auditable confinement policy: what a command may call, use and see.
///
/// Policies are plain values read from JSON files (`policies/*.json`). The seccomp part uses
/// the OCI runtime specification's field names, so it maps one to one onto libseccomp.
public struct Policy: Sendable, Hashable {
    /// The policy's name: the file name without `.json`, or the `name` field.
    public var name: String
    public var description: String
    /// The file the policy was read from, if any (for error messages and the audit).
    public var source: String?
    /// Which executables may run.
    public var commands: CommandRule
    /// The syscall filter.
    public var seccomp: SeccompProfile
    /// Resource limits applied with setrlimit(2) before the command starts.
    public var rlimits: ResourceLimits
    /// Wall-clock limit for one command; `nil` means none.
    public var timeout: Duration?
    /// Largest number of bytes kept for each of stdout and stderr; the rest is drained and counted.
    public var outputLimit: Int?
    /// The environment a command receives when the caller passes none.
    public var environment: [String: String]
    /// The working directory when the caller passes none; `nil` keeps the caller's.
    public var workingDirectory: String?
    /// Whom the command runs as.
    public var user: UserSpec
    /// Filesystem, network, process, memory and CPU isolation (namespaces, Landlock, cgroups).
    public var isolation = Isolation()
    /// What the reader noticed but did not refuse ("file:line: field: message"), e.g. a
    /// filesystem path missing on this machine in a policy that does not require isolation.
    public var warnings: [String] = []
    /// Where each field was written, "file:line", keyed by field path ("rlimits.cpu",
    /// "commands.allow[2]"); an included file's fields keep their own file.
    public var origins: [String: String] = [:]

    /// Where a field (or its nearest enclosing field) was written, if known.
    public func origin(of path: String) -> String? {
        var path = path
        while true {
            if let origin = origins[path] { return origin }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return source }
            path = String(path[..<cut])
        }
    }

    public init(
        name: String,
        description: String = "",
        source: String? = nil,
        commands: CommandRule = CommandRule(),
        seccomp: SeccompProfile = SeccompProfile(),
        rlimits: ResourceLimits = ResourceLimits(),
        timeout: Duration? = nil,
        outputLimit: Int? = nil,
        environment: [String: String] = Policy.minimalEnvironment,
        workingDirectory: String? = nil,
        user: UserSpec = .automatic
    ) {
        self.name = name
        self.description = description
        self.source = source
        self.commands = commands
        self.seccomp = seccomp
        self.rlimits = rlimits
        self.timeout = timeout
        self.outputLimit = outputLimit
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
    }

    /// The environment a policy gives when it names none: never the caller's. HOME and TMPDIR
    /// are added per command (a private directory) unless the environment sets HOME.
    public static let minimalEnvironment: [String: String] = [
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
    ]
}

/// Which executables a policy admits. Entries are absolute paths or bare names resolved
/// through the command's `PATH`; an empty allow-list admits every executable not denied.
public struct CommandRule: Sendable, Hashable {
    public var allow: [String]
    public var deny: [String]
    public init(allow: [String] = [], deny: [String] = []) {
        self.allow = allow
        self.deny = deny
    }
}

/// Whom a command runs as.
public enum UserSpec: Sendable, Hashable {
    /// When Confine runs as root, a uid (and gid) of the command's own, leased from a pool
    /// (600000 and up) for as long as it runs; otherwise the caller's own ids.
    case automatic
    /// These ids, always (requires root to differ from the caller's).
    case ids(uid: UInt32, gid: UInt32)
    /// The caller's own ids, even as root (the audit reports it).
    case inherit

    /// `nobody`/`nogroup`, for policies that name them.
    public static let nobody: (uid: UInt32, gid: UInt32) = (65534, 65534)
}

/// The seccomp filter of a policy, in OCI runtime-spec terms.
public struct SeccompProfile: Sendable, Hashable {
    public var defaultAction: SeccompAction
    /// Architectures whose syscalls are filtered (and so admitted); others are killed.
    public var architectures: [Architecture]
    public var syscalls: [SyscallRule]
    /// Calls the policy refuses that programs are known to try and do without (glibc's probe for
    /// nscd, `socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0)`, under a policy with
    /// no sockets): still refused exactly as before, but not reported in `refused`, records,
    /// logs or metrics. Confine-specific (`seccomp.quiet`); the filter is unchanged.
    public var quiet: [QuietCall] = []

    public init(
        defaultAction: SeccompAction = .errno(1),
        architectures: [Architecture] = [.native],
        syscalls: [SyscallRule] = []
    ) {
        self.defaultAction = defaultAction
        self.architectures = architectures
        self.syscalls = syscalls
    }
}

/// A refused call not worth reporting (`SeccompProfile.quiet`): these syscalls, when the
/// comparisons (on arguments 0 to 2, those a refusal reports) all hold.
public struct QuietCall: Sendable, Hashable {
    public var names: [String]
    public var args: [ArgumentComparison]
    /// Where it was written: "file:line".
    public var origin: String?

    public init(names: [String], args: [ArgumentComparison] = [], origin: String? = nil) {
        self.names = names
        self.args = args
        self.origin = origin
    }

    /// Whether a refused call (its name and first three arguments) is this one.
    public func matches(name: String, arguments: [UInt64]) -> Bool {
        names.contains(name) && args.allSatisfy { $0.index < arguments.count && $0.matches(arguments[$0.index]) }
    }
}

/// A filter action (`SCMP_ACT_*`).
public enum SeccompAction: Sendable, Hashable, CustomStringConvertible {
    case allow
    case errno(UInt16)
    case killProcess
    case killThread
    case trap
    case log

    public var description: String {
        switch self {
        case .allow: "SCMP_ACT_ALLOW"
        case .errno(let e): "SCMP_ACT_ERRNO(\(e))"
        case .killProcess: "SCMP_ACT_KILL_PROCESS"
        case .killThread: "SCMP_ACT_KILL_THREAD"
        case .trap: "SCMP_ACT_TRAP"
        case .log: "SCMP_ACT_LOG"
        }
    }
}

/// An architecture (`SCMP_ARCH_*`).
public enum Architecture: String, Sendable, Hashable, CaseIterable {
    case native = "SCMP_ARCH_NATIVE"
    case x86_64 = "SCMP_ARCH_X86_64"
    case x86 = "SCMP_ARCH_X86"
    case x32 = "SCMP_ARCH_X32"
    case aarch64 = "SCMP_ARCH_AARCH64"
}

/// One rule of the filter: these syscalls (or `@groups`) get this action, when the
/// argument comparisons (all of them) hold.
public struct SyscallRule: Sendable, Hashable {
    public var names: [String]
    public var action: SeccompAction
    public var args: [ArgumentComparison]
    /// Where the rule was written: "file:line", for errors and the audit.
    public var origin: String?

    public init(names: [String], action: SeccompAction, args: [ArgumentComparison] = [], origin: String? = nil) {
        self.names = names
        self.action = action
        self.args = args
        self.origin = origin
    }
}

/// A comparison of one syscall argument (`SCMP_CMP_*`). For `maskedEqual`, as in the OCI
/// spec, `value` is the mask and `valueTwo` the value the masked argument must equal.
public struct ArgumentComparison: Sendable, Hashable {
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case notEqual = "SCMP_CMP_NE"
        case lessThan = "SCMP_CMP_LT"
        case lessOrEqual = "SCMP_CMP_LE"
        case equal = "SCMP_CMP_EQ"
        case greaterOrEqual = "SCMP_CMP_GE"
        case greaterThan = "SCMP_CMP_GT"
        case maskedEqual = "SCMP_CMP_MASKED_EQ"
    }

    /// Which argument of the call (0 to 5) is compared.
    public var index: Int
    /// The value compared with, as the 64-bit register holds it.
    public var value: UInt64
    /// The second operand: the value the masked argument must equal (`SCMP_CMP_MASKED_EQ`).
    public var valueTwo: UInt64
    public var op: Operator

    public init(index: Int, value: UInt64, valueTwo: UInt64 = 0, op: Operator) {
        self.index = index
        self.value = value
        self.valueTwo = valueTwo
        self.op = op
    }

    /// Whether an argument value satisfies the comparison (full 64-bit, as libseccomp compares).
    public func matches(_ argument: UInt64) -> Bool {
        switch op {
        case .notEqual: argument != value
        case .lessThan: argument < value
        case .lessOrEqual: argument <= value
        case .equal: argument == value
        case .greaterOrEqual: argument >= value
        case .greaterThan: argument > value
        case .maskedEqual: argument & value == valueTwo
        }
    }
}

/// Resource limits (setrlimit(2)); `nil` leaves the inherited limit.
public struct ResourceLimits: Sendable, Hashable {
    public enum Value: Sendable, Hashable, CustomStringConvertible {
        case limited(UInt64)
        case unlimited

        public var description: String {
            switch self {
            case .limited(let n): String(n)
            case .unlimited: "unlimited"
            }
        }
    }

    /// The limits in the order they are applied, keyed by their policy names.
    public static let names = ["cpu", "as", "fsize", "nofile", "nproc", "stack", "core", "memlock", "data"]

    public var cpu: Value?      // seconds of CPU time
    public var `as`: Value?     // bytes of address space
    public var fsize: Value?    // bytes: largest file written
    public var nofile: Value?   // open file descriptors
    public var nproc: Value?    // processes of the uid
    public var stack: Value?    // bytes
    public var core: Value?     // bytes of core dump
    public var memlock: Value?  // bytes of locked memory
    public var data: Value?     // bytes of data segment

    public init() {}

    /// The value of the limit with this policy name.
    public subscript(name: String) -> Value? {
        get {
            switch name {
            case "cpu": cpu
            case "as": `as`
            case "fsize": fsize
            case "nofile": nofile
            case "nproc": nproc
            case "stack": stack
            case "core": core
            case "memlock": memlock
            case "data": data
            default: nil
            }
        }
        set {
            switch name {
            case "cpu": cpu = newValue
            case "as": `as` = newValue
            case "fsize": fsize = newValue
            case "nofile": nofile = newValue
            case "nproc": nproc = newValue
            case "stack": stack = newValue
            case "core": core = newValue
            case "memlock": memlock = newValue
            case "data": data = newValue
            default: break
            }
        }
    }

    /// The limits that are set, as (name, value) in application order.
    public var entries: [(name: String, value: Value)] {
        Self.names.compactMap { name in self[name].map { (name, $0) } }
    }
}
