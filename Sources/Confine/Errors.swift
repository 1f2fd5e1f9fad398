import ConfinePolicy
#if canImport(Glibc)
import Glibc
#endif

/// Raised by `checkOutput`/`checkCall`/`run(check: true)` when the command exits non-zero or
/// dies of a signal — CPython's `subprocess.CalledProcessError`, fields and text alike.
public struct CalledProcessError: Error, Sendable, CustomStringConvertible {
    /// The exit status, or minus the signal number.
    public var returnCode: Int32
    public var cmd: [String]
    /// Captured stdout, if it was captured (`output` in Python, also `stdout`).
    public var output: [UInt8]?
    public var stderr: [UInt8]?
    /// The whole record, for what Python's exception cannot carry (truncation, times, pid).
    public var completed: CompletedProcess?

    public var stdout: [UInt8]? { output }

    public init(returnCode: Int32, cmd: [String], output: [UInt8]? = nil, stderr: [UInt8]? = nil) {
        self.returnCode = returnCode
        self.cmd = cmd
        self.output = output
        self.stderr = stderr
    }

    /// `Command '['false']' returned non-zero exit status 1.` or
    /// `Command '['sh', '-c', 'kill -9 $$']' died with <Signals.SIGKILL: 9>.`
    public var description: String {
        let command = PythonRepr.list(cmd)
        if returnCode < 0 {
            if let name = SignalName.name(of: -returnCode) {
                return "Command '\(command)' died with <Signals.\(name): \(-returnCode)>."
            }
            return "Command '\(command)' died with unknown signal \(-returnCode)."
        }
        return "Command '\(command)' returned non-zero exit status \(returnCode)."
    }
}

/// Raised when a command outlives its timeout; its whole process tree has been killed and
/// reaped, and the output it wrote before is kept — CPython's `subprocess.TimeoutExpired`.
public struct TimeoutExpired: Error, Sendable, CustomStringConvertible {
    public var cmd: [String]
    /// The timeout in seconds.
    public var timeout: Double
    public var output: [UInt8]?
    public var stderr: [UInt8]?
    public var completed: CompletedProcess?

    public var stdout: [UInt8]? { output }

    /// `Command '['sleep', '10']' timed out after 0.5 seconds`
    public var description: String {
        "Command '\(PythonRepr.list(cmd))' timed out after \(PythonRepr.float(timeout)) seconds"
    }
}

/// A command that could not be started: not found, not executable, refused by the policy,
/// bad arguments, a bad policy. Each names what was wrong and what is accepted.
public struct ConfineError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The executable does not exist (Python's FileNotFoundError; CLI exit 127).
        case notFound
        /// The executable or directory may not be used (PermissionError; CLI exit 126).
        case permissionDenied
        /// The policy refuses the command before it starts (CLI exit 126).
        case refused
        /// The working directory does not exist or is not a directory.
        case workingDirectory
        /// Bad arguments: empty argv, NUL bytes, negative timeout (CLI exit 2).
        case invalidArgument
        /// The policy cannot be read or compiled (CLI exit 2).
        case policy
        /// The launcher could not be found, started, or failed in a way the command did not cause.
        case launcherFailed
        /// A step of the confinement (rlimits, identity, seccomp) failed in the child.
        case confinementFailed
    }

    public var code: Code
    public var message: String
    /// The errno behind it, where there is one.
    public var errno: Int32?
    /// The file concerned (the executable, the directory), where there is one.
    public var path: String?

    public init(_ code: Code, _ message: String, errno: Int32? = nil, path: String? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.path = path
    }

    public var description: String { message }

    /// The exit status `confine run` uses for this error.
    public var exitStatus: Int32 {
        switch code {
        case .notFound: 127
        case .permissionDenied, .refused, .confinementFailed, .launcherFailed: 126
        case .workingDirectory, .invalidArgument, .policy: 2
        }
    }

    static func errnoText(_ e: Int32) -> String { String(cString: strerror(e)) }
}
