import CConfineProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The state of one running command, owned by the reactor thread once added.
final class Execution: @unchecked Sendable {
    enum Stream: Hashable { case status, stdin, stdout, stderr }

    /// What the monitor reported, and what was captured.
    struct Outcome {
        var pid: Int32 = 0
        var waitStatus: Int32?
        var failure: (stage: Int32, errno: Int32, detail: Int32)?
        var killedOnRequest = false
        var descendantsKilled = false
        var timedOut = false
        var userTime: Duration = .zero
        var systemTime: Duration = .zero
        var maxRSS = 0
        /// From the memory cgroup, when the policy sets isolation.memory.
        var memoryPeak: Int?
        var oomKilled = false
        var refused: [RefusedCall] = []
        var stdout = Capture(limit: nil)
        var stderr = Capture(limit: nil)
        var started: ContinuousClock.Instant = .now
        var ended: ContinuousClock.Instant = .now
    }

    /// Bytes kept up to a limit; past it, only counted.
    struct Capture {
        var bytes: [UInt8] = []
        var total = 0
        let limit: Int?
        init(limit: Int?) { self.limit = limit }
        var truncated: Bool { total > bytes.count }

        mutating func append(_ chunk: UnsafeRawBufferPointer) {
            total += chunk.count
            let room = limit.map { max(0, $0 - bytes.count) } ?? chunk.count
            // Grow by doubling, never past the cap; past 1 MiB go straight to a cap of up to
            // 64 MiB, so that no late doubling holds old and new buffers at once.
            let needed = bytes.count + min(room, chunk.count)
            if needed > bytes.capacity {
                var target = max(needed, bytes.capacity * 2, 4096)
                if let limit {
                    target = min(limit, target)
                    if target > 1 << 20 && limit <= 64 << 20 { target = limit }
                }
                bytes.reserveCapacity(target)
            }
            if room >= chunk.count {
                bytes.append(contentsOf: chunk)
            } else if room > 0 {
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<room]))
            }
        }
    }

    var streams: [Stream: Int32] = [:]
    var tokens: [Stream: UInt64] = [:]
    let deadline: ContinuousClock.Instant?
    private(set) var killSent = false
    private var input: [UInt8]
    private var inputOffset = 0
    private(set) var outcome = Outcome()
    private let onComplete: @Sendable (Outcome) -> Void

    /// - Parameters:
    ///   - status: the parent's end of the status socket.
    ///   - stdin: the write end of the input pipe, if input is given.
    ///   - stdout/stderr: read ends of the capture pipes, if captured.
    init(status: Int32, stdin: Int32?, input: [UInt8], stdout: Int32?, stderr: Int32?, outputLimit: Int?,
         deadline: ContinuousClock.Instant?, onComplete: @escaping @Sendable (Outcome) -> Void) {
        streams[.status] = status
        if let stdin { streams[.stdin] = stdin }
        if let stdout { streams[.stdout] = stdout }
        if let stderr { streams[.stderr] = stderr }
        self.input = input
        self.deadline = deadline
        self.onComplete = onComplete
        outcome.stdout = Capture(limit: outputLimit)
        outcome.stderr = Capture(limit: outputLimit)
    }

    /// Sees each piece of kept output as it arrives (`Command.onOutput`).
    var onOutput: (@Sendable (OutputChunk) -> Void)?

    func append(_ chunk: UnsafeRawBufferPointer, to stream: Stream) {
        let before = stream == .stdout ? outcome.stdout.bytes.count : outcome.stderr.bytes.count
        if stream == .stdout { outcome.stdout.append(chunk) } else { outcome.stderr.append(chunk) }
        guard let onOutput else { return }
        let kept = stream == .stdout ? outcome.stdout.bytes[before...] : outcome.stderr.bytes[before...]
        if !kept.isEmpty { onOutput(OutputChunk(stream: stream == .stdout ? .stdout : .stderr, bytes: Array(kept))) }
    }

    /// Writes as much input as the pipe takes; true when all is written or the reader is gone.
    func writeInput(_ fd: Int32) -> Bool {
        while inputOffset < input.count {
            let n = input.withUnsafeBytes { SystemCalls.write(fd, UnsafeRawBufferPointer(rebasing: $0[inputOffset...])) }
            if n > 0 { inputOffset += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return false }
            return true  // EPIPE: the command stopped reading, as CPython's communicate() tolerates
        }
        return true
    }

    func receive(_ report: cfl_report) {
        switch report.kind {
        case UInt32(CFL_REPORT_STARTED.rawValue):
            outcome.pid = report.pid
        case UInt32(CFL_REPORT_FAILED.rawValue):
            outcome.failure = (report.stage, report.err, report.pid)
        case UInt32(CFL_REPORT_EXITED.rawValue):
            outcome.waitStatus = report.status
            outcome.killedOnRequest = report.flags & UInt32(CFL_REPORT_FLAG_KILLED) != 0
            outcome.descendantsKilled = report.flags & UInt32(CFL_REPORT_FLAG_DESCENDANTS) != 0
            outcome.userTime = .microseconds(report.utime_us)
            outcome.systemTime = .microseconds(report.stime_us)
            outcome.maxRSS = Int(report.maxrss_kb) * 1024
        default:
            break
        }
    }

    /// A call the policy refused (or, learning, allowed and recorded).
    func receive(_ refusal: cfl_refusal) {
        outcome.refused.append(RefusedCall(
            pid: refusal.pid, number: refusal.nr, errno: refusal.err,
            arguments: [refusal.args.0, refusal.args.1, refusal.args.2]))
    }

    /// When to stop waiting for the pipes after the monitor vanished.
    private(set) var abandonAt: ContinuousClock.Instant?

    /// Asks the monitor to kill the whole tree ('K' on the status socket); without a monitor,
    /// kills the command's process group itself.
    func kill(timedOut: Bool) {
        guard !killSent else { return }
        killSent = true
        if timedOut { outcome.timedOut = true }
        if let fd = streams[.status] {
            _ = SystemCalls.send(fd, [UInt8(ascii: "K")])
        } else {
            killDirectly()
        }
    }

    /// The monitor went away without reporting (killed, or crashed): kill what we know of the
    /// tree and stop waiting for its pipes after a grace period.
    func monitorLost() {
        killDirectly()
        abandonAt = .now.advanced(by: .seconds(2))
    }

    private func killDirectly() {
        guard outcome.pid > 0 else { return }
        _ = Glibc.kill(-outcome.pid, SIGKILL)
        _ = Glibc.kill(outcome.pid, SIGKILL)
    }

    func complete() {
        outcome.ended = .now
        onComplete(outcome)
    }
}
