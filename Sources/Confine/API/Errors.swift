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
    /// What went wrong, as a value that can grow: new codes are added as static members, so a
    /// `switch` over it needs a `default` and keeps compiling when Confine adds one.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The executable does not exist (Python's FileNotFoundError; CLI exit 127).
        public static let notFound = Code(rawValue: "notFound")
        /// The executable or directory may not be used (PermissionError; CLI exit 126).
        public static let permissionDenied = Code(rawValue: "permissionDenied")
        /// The policy refuses the command before it starts (CLI exit 126).
        public static let refused = Code(rawValue: "refused")
        /// The working directory does not exist or is not a directory (CLI exit 2).
        public static let workingDirectory = Code(rawValue: "workingDirectory")
        /// The policy does not admit the working directory into its filesystem view
        /// (`isolation.filesystem.workingDirectories`), or the view would reach a path the
        /// executor protects (CLI exit 126; HTTP 403).
        public static let workingDirectoryNotAdmitted = Code(rawValue: "workingDirectoryNotAdmitted")
        /// The policy does not admit a path a caller grants for one run (`FilesystemGrants`):
        /// beyond its `isolation.filesystem.grants`, or refused by its `workingDirectories`
        /// rules (CLI exit 126; HTTP 403).
        public static let grantNotAdmitted = Code(rawValue: "grantNotAdmitted")
        /// Bad arguments: empty argv, NUL bytes, negative timeout (CLI exit 2).
        public static let invalidArgument = Code(rawValue: "invalidArgument")
        /// The policy cannot be read or compiled (CLI exit 2).
        public static let policy = Code(rawValue: "policy")
        /// The launcher could not be found, started, or failed in a way the command did not cause.
        public static let launcherFailed = Code(rawValue: "launcherFailed")
        /// A step of the confinement (rlimits, identity, seccomp) failed in the child.
        public static let confinementFailed = Code(rawValue: "confinementFailed")
    }

    public var code: Code
    public var message: String
    /// The errno behind it, where there is one.
    public var errno: Int32?
    /// The file concerned (the executable, the directory), where there is one.
    public var path: String?
    /// The policy error behind a `.policy` error (file, line, field), kept whole.
    public var policyError: PolicyError?

    public init(_ code: Code, _ message: String, errno: Int32? = nil, path: String? = nil, policyError: PolicyError? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.path = path
        self.policyError = policyError
    }

    public var description: String { message }

    /// The exit status `confine run` uses for this error.
    public var exitStatus: Int32 {
        switch code {
        case .notFound: 127
        case .workingDirectory, .invalidArgument, .policy: 2
        default: 126
        }
    }

    static func errnoText(_ e: Int32) -> String { String(cString: strerror(e)) }
}
