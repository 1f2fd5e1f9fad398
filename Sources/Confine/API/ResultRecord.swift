import ConfinePolicy
import FoundationEssentials

/// The one-line JSON record of `confine run --json` (and of the service's exec endpoint):
/// in the spirit of isolate's meta file and Piston's response.
public struct ResultRecord: Codable, Sendable {
    public struct Refusal: Codable, Sendable {
        public var syscall: String
        public var number: Int32
        public var arguments: [UInt64]
        public var errno: Int32
        public var pid: Int32
        public var text: String
    }

    public struct ErrorInfo: Codable, Sendable {
        public var code: String
        public var message: String
    }

    public var argv: [String]
    public var policy: String
    /// ok | nonzero | signal | timeout | output-limit | memory-limit | killed | refused | error
    public var status: String
    /// The exit status (0 to 255); nil when a signal ended the command or it never started.
    public var exitCode: Int32?
    /// The number of the signal that ended the command.
    public var signal: Int32?
    public var signalName: String?
    public var stdout: String
    public var stderr: String
    /// Bytes the command wrote to stdout and stderr, kept or not.
    public var stdoutBytes: Int
    public var stderrBytes: Int
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool
    public var descendantsKilled: Bool
    /// Wall-clock, user and system CPU time of the whole tree, in seconds.
    public var wallTime: Double
    public var userTime: Double
    public var systemTime: Double
    /// Largest resident set of the command or any descendant, in bytes.
    public var maxRSS: Int
    /// Peak memory of the tree from its cgroup, in bytes, with isolation.memory.
    public var memoryPeak: Int?
    public var oomKilled: Bool = false
    public var pid: Int32?
    /// The timeout in force, in seconds.
    public var timeout: Double?
    /// The first call the policy refused, e.g. "socket(AF_INET, SOCK_STREAM, 0)".
    public var refusedSyscall: String?
    public var refused: [Refusal] = []
    public var error: ErrorInfo?

    public init(_ result: CompletedProcess) {
        argv = result.args
        policy = result.policy
        status = result.status.rawValue
        exitCode = result.returnCode >= 0 ? result.returnCode : nil
        signal = result.signal
        signalName = result.signal.flatMap(SignalName.name(of:))
        stdout = Data(result.stdout ?? []).base64EncodedString()
        stderr = Data(result.stderr ?? []).base64EncodedString()
        stdoutBytes = result.stdoutBytes
        stderrBytes = result.stderrBytes
        stdoutTruncated = result.stdoutTruncated
        stderrTruncated = result.stderrTruncated
        descendantsKilled = result.descendantsKilled
        wallTime = result.wallTime.seconds
        userTime = result.userTime.seconds
        systemTime = result.systemTime.seconds
        maxRSS = result.maxRSS
        memoryPeak = result.memoryPeak
        oomKilled = result.oomKilled
        pid = result.pid
        timeout = result.timeout?.seconds
        refused = result.refused.map {
            Refusal(syscall: $0.name, number: $0.number, arguments: $0.arguments, errno: $0.errno, pid: $0.pid, text: $0.description)
        }
        refusedSyscall = refused.first?.text
    }

    public init(command: [String], policy: String, error: ConfineError) {
        argv = command
        self.policy = policy
        status = error.code == .refused || error.code == .workingDirectoryNotAdmitted ? "refused" : "error"
        stdout = ""
        stderr = ""
        stdoutBytes = 0
        stderrBytes = 0
        stdoutTruncated = false
        stderrTruncated = false
        descendantsKilled = false
        wallTime = 0
        userTime = 0
        systemTime = 0
        maxRSS = 0
        self.error = ErrorInfo(code: error.code.rawValue, message: error.message)
    }
}
