import Confine
import ConfinePolicy
import Foundation

/// The one-line JSON record of `confine run --json` (and of the service's exec endpoint):
/// in the spirit of isolate's meta file and Piston's response.
struct ResultRecord: Codable {
    struct Refusal: Codable {
        var syscall: String
        var number: Int32
        var arguments: [UInt64]
        var errno: Int32
        var pid: Int32
        var text: String
    }

    struct ErrorInfo: Codable {
        var code: String
        var message: String
    }

    var argv: [String]
    var policy: String
    /// ok | nonzero | signal | timeout | output-limit | refused | error
    var status: String
    var exitCode: Int32?
    var signal: Int32?
    var signalName: String?
    var stdout: String
    var stderr: String
    var stdoutBytes: Int
    var stderrBytes: Int
    var stdoutTruncated: Bool
    var stderrTruncated: Bool
    var descendantsKilled: Bool
    var wallTime: Double
    var userTime: Double
    var systemTime: Double
    var maxRSS: Int
    var pid: Int32?
    var timeout: Double?
    /// The first call the policy refused, e.g. "socket(AF_INET, SOCK_STREAM, 0)".
    var refusedSyscall: String?
    var refused: [Refusal] = []
    var error: ErrorInfo?

    init(_ result: CompletedProcess) {
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
        pid = result.pid
        timeout = result.timeout?.seconds
        refused = result.refused.map {
            Refusal(syscall: $0.name, number: $0.number, arguments: $0.arguments, errno: $0.errno, pid: $0.pid, text: $0.description)
        }
        refusedSyscall = refused.first?.text
    }

    init(command: [String], policy: String, error: ConfineError) {
        argv = command
        self.policy = policy
        status = error.code == .refused ? "refused" : "error"
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
