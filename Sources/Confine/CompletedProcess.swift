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
    public var wallTime: Duration
    public var userTime: Duration
    public var systemTime: Duration
    /// Largest resident set of the command or any descendant, in bytes.
    public var maxRSS: Int

    /// The signal that ended the command, if a signal did.
    public var signal: Int32? { returnCode < 0 ? -returnCode : nil }

    /// Throws `CalledProcessError` when the return code is non-zero (Python's `check_returncode()`).
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
