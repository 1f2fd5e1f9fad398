import ConfinePolicy

/// What became of a command: CPython's `subprocess.CompletedProcess` plus what a sandbox
/// adds (why it ended, truncation, times, memory). An exit status, a signal, a timeout and an
/// output cap are all results here; only `check`-style calls turn them into errors.
public struct CompletedProcess: Sendable {
    /// Why the command ended, as `confine run --json` reports it.
    public enum Status: String, Sendable, Hashable, Codable {
        case ok
        case nonzero
        case signal
        case timeout
        /// Exited 0, but stdout or stderr went over the policy's `outputLimit`.
        case outputLimit = "output-limit"
        /// Killed (the whole tree) because the caller cancelled it (`Command.cancellationIsResult`).
        case killed
        /// The kernel's OOM killer ended a process of the tree at the policy's `isolation.memory`.
        case memoryLimit = "memory-limit"
    }

    public var args: [String]
    /// The exit status, or minus the signal number (Python's convention).
    public var returnCode: Int32
    /// Captured stdout, when stdout was `.pipe`.
    public var stdout: [UInt8]?
    /// Captured stderr, when stderr was `.pipe`.
    public var stderr: [UInt8]?
    public var status: Status
    /// Bytes the command wrote to each stream, including those past the cap.
    public var stdoutBytes: Int
    public var stderrBytes: Int
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool
    /// Descendants outlived the command and were killed when it ended.
    public var descendantsKilled: Bool
    public var pid: Int32
    /// The policy the command ran under.
    public var policy: String
    /// The timeout in force, if any.
    public var timeout: Duration?
    /// From the start to the end of the whole tree, wall clock.
    public var wallTime: Duration
    /// CPU time in user mode of the command and all its descendants (getrusage(2) `ru_utime`).
    public var userTime: Duration
    /// CPU time in the kernel of the command and all its descendants (`ru_stime`).
    public var systemTime: Duration
    /// Largest resident set of the command or any descendant, in bytes.
    public var maxRSS: Int
    /// The calls the policy refused, as the supervisor saw them (the first of each kind).
    public var refused: [RefusedCall] = []
    /// Peak memory of the whole tree from its memory cgroup (resident and page cache), in bytes,
    /// when the policy sets `isolation.memory`.
    public var memoryPeak: Int?
    /// The tree went over `isolation.memory` and the kernel's OOM killer ended a process of it.
    public var oomKilled = false

    /// The signal that ended the command, if a signal did.
    public var signal: Int32? { returnCode < 0 ? -returnCode : nil }

    /// Python's `check_returncode()`.
    /// - Throws: `CalledProcessError` when the return code is non-zero; `TimeoutExpired` when the
    ///   command timed out.
    public func checkReturnCode() throws {
        if status == .timeout {
            throw TimeoutExpired(cmd: args, timeout: timeout?.seconds ?? 0, output: stdout, stderr: stderr, completed: self)
        }
        guard returnCode == 0 else {
            var error = CalledProcessError(returnCode: returnCode, cmd: args, output: stdout, stderr: stderr)
            error.completed = self
            throw error
        }
    }
}

/// Where a command's standard input comes from.
public enum InputSource: Sendable, Hashable {
    /// The caller's own standard input (Python's `stdin=None`).
    case inherit
    /// /dev/null (`subprocess.DEVNULL`).
    case null
    /// These bytes, then end of file (Python's `input=`).
    case bytes([UInt8])
    /// A descriptor of the caller's, which stays open.
    case fileDescriptor(Int32)
}

/// Where a command's stdout or stderr goes.
public enum OutputDestination: Sendable, Hashable {
    /// Captured into the result (`subprocess.PIPE`).
    case pipe
    /// The caller's own stream (Python's `None`).
    case inherit
    /// /dev/null (`subprocess.DEVNULL`).
    case discard
    /// For stderr: into stdout (`subprocess.STDOUT`).
    case stdout
    /// A descriptor of the caller's, which stays open.
    case fileDescriptor(Int32)
}

/// A syscall the policy refused (or, when learning, would have refused): which, with what.
public struct RefusedCall: Sendable, Hashable, CustomStringConvertible {
    /// The process that made the call.
    public var pid: Int32
    public var number: Int32
    /// The errno it got (0 when learning: the call went ahead).
    public var errno: Int32
    /// Its first three arguments.
    public var arguments: [UInt64]

    public var name: String { Syscalls.name(of: number) }

    /// `socket(AF_INET, SOCK_STREAM, 0)`, `ioctl(1, TIOCSTI, 0x7ffd...)`, `mount(0x..., 0x..., 0x...)`.
    public var description: String {
        let a = arguments + [0, 0, 0]
        switch name {
        case "socket", "socketpair":
            let families: [UInt64: String] = [1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET", 40: "AF_VSOCK"]
            let types: [UInt64: String] = [1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET"]
            let family = families[a[0]] ?? String(a[0])
            let type = types[a[1] & 0xf] ?? String(a[1])
            return "\(name)(\(family), \(type), \(a[2]))"
        case "ioctl":
            let requests: [UInt64: String] = [0x5412: "TIOCSTI", 0x541C: "TIOCLINUX", 0x5401: "TCGETS"]
            return "ioctl(\(a[0]), \(requests[a[1] & 0xffff_ffff] ?? "0x" + String(a[1], radix: 16)), ...)"
        case "kill", "tkill":
            return "\(name)(\(Int32(truncatingIfNeeded: a[0])), \(a[1]))"
        default:
            return "\(name)(" + a.prefix(3).map { $0 < 4096 ? String($0) : "0x" + String($0, radix: 16) }.joined(separator: ", ") + ")"
        }
    }
}
