import CConfineProtocol
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// One thread with epoll(7) that drives every running command: it writes their input,
/// drains stdout and stderr at once, reads the monitor's reports and enforces deadlines.
/// Blocking calls and async tasks both hand their command to it, so no caller thread —
/// and no thread of Swift's cooperative pool — ever blocks on a pipe.
final class Reactor: @unchecked Sendable {
    static let shared = Reactor()

    private let epoll: Int32
    private let wakeup: Int32
    private let lock = Lock()
    private var pending: [Execution] = []
    private var cancelled: [Execution] = []
    // Owned by the reactor thread only.
    private var running: [ObjectIdentifier: Execution] = [:]
    private var tokens: [UInt64: (Execution, Execution.Stream)] = [:]
    private var nextToken: UInt64 = 1
    // Not zero-filled: malloc maps a buffer this size untouched, so a process that reads little
    // (`confine run` of one command) faults in only the pages a read writes, not 64 of them.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)

    /// Throws when the reactor could not be set up (descriptors exhausted at start).
    func checkHealthy() throws {
        if epoll < 0 || wakeup < 0 {
            throw ConfineError(.launcherFailed, "cannot create the epoll reactor (epoll_create1/eventfd failed: descriptors exhausted?)")
        }
    }

    private init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeup = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard epoll >= 0, wakeup >= 0 else { return }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = 0
        _ = epoll_ctl(epoll, EPOLL_CTL_ADD, wakeup, &event)
        startThread(name: "confine-reactor") { [unowned self] in self.loop() }
    }

    /// Starts driving `execution`; its completion runs on the reactor thread.
    func add(_ execution: Execution) {
        lock.lock()
        pending.append(execution)
        lock.unlock()
        signal()
    }

    /// Kills `execution`'s process tree (cancellation); it still completes normally.
    func cancel(_ execution: Execution) {
        lock.lock()
        cancelled.append(execution)
        lock.unlock()
        signal()
    }

    private func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { Glibc.write(wakeup, $0.baseAddress, 8) }
    }

    private func loop() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            let timeout = nextTimeout()
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, 64, timeout) }
            if n < 0 && errno != EINTR { continue }
            for i in 0..<max(0, Int(n)) {
                let token = events[i].data.u64
                if token == 0 {
                    var value: UInt64 = 0
                    _ = withUnsafeMutableBytes(of: &value) { Glibc.read(wakeup, $0.baseAddress, 8) }
                    continue
                }
                guard let (execution, stream) = tokens[token] else { continue }
                handle(execution, stream, token: token, events: events[i].events)
            }
            enforceDeadlines()
            admit()
        }
    }

    private func admit() {
        lock.lock()
        let newcomers = pending
        let toCancel = cancelled
        pending.removeAll()
        cancelled.removeAll()
        lock.unlock()
        for execution in newcomers {
            running[ObjectIdentifier(execution)] = execution
            for (stream, fd) in execution.streams {
                let token = nextToken
                nextToken += 1
                tokens[token] = (execution, stream)
                execution.tokens[stream] = token
                SystemCalls.setNonBlocking(fd)
                var event = epoll_event()
                event.events = (stream == .stdin ? EPOLLOUT.rawValue : EPOLLIN.rawValue) | EPOLLRDHUP.rawValue
                event.data.u64 = token
                if epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0 {
                    finish(execution, stream, token: token)
                }
            }
            if let deadline = execution.deadline, deadline <= .now { execution.kill(timedOut: true) }
            completeIfDone(execution)
        }
        for execution in toCancel where running[ObjectIdentifier(execution)] != nil {
            execution.kill(timedOut: false)
        }
    }

    private func nextTimeout() -> Int32 {
        lock.lock()
        let hasPending = !pending.isEmpty || !cancelled.isEmpty
        lock.unlock()
        if hasPending { return 0 }
        var earliest: ContinuousClock.Instant?
        for execution in running.values {
            if let deadline = execution.deadline, !execution.killSent, earliest.map({ deadline < $0 }) ?? true {
                earliest = deadline
            }
            if let abandon = execution.abandonAt, earliest.map({ abandon < $0 }) ?? true {
                earliest = abandon
            }
        }
        guard let earliest else { return -1 }
        let remaining = ContinuousClock.now.duration(to: earliest)
        if remaining <= .zero { return 0 }
        let ms = remaining.seconds * 1000
        return Int32(min(ms.rounded(.up), 60_000))
    }

    private func enforceDeadlines() {
        let now = ContinuousClock.now
        for execution in running.values {
            if let deadline = execution.deadline, deadline <= now, !execution.killSent {
                execution.kill(timedOut: true)
            }
            // Past the grace period after a lost monitor: stop waiting for the pipes.
            if let abandon = execution.abandonAt, abandon <= now {
                for (stream, token) in execution.tokens where execution.streams[stream] != nil {
                    finish(execution, stream, token: token)
                }
            }
        }
    }

    private func handle(_ execution: Execution, _ stream: Execution.Stream, token: UInt64, events: UInt32) {
        switch stream {
        case .stdout, .stderr:
            guard let fd = execution.streams[stream] else { return }
            // Read until the pipe is empty, at most a few chunks per wake-up for fairness.
            for _ in 0..<8 {
                let n = SystemCalls.read(fd, scratch)
                if n > 0 {
                    execution.append(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), to: stream)
                    if n < scratch.count { return }
                    continue
                }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
                finish(execution, stream, token: token)
                return
            }
        case .stdin:
            guard let fd = execution.streams[.stdin] else { return }
            if events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
                finish(execution, .stdin, token: token)
                return
            }
            let done = execution.writeInput(fd)
            if done { finish(execution, .stdin, token: token) }
        case .status:
            guard let fd = execution.streams[.status] else { return }
            // A datagram is a cfl_report or a cfl_refusal; `kind`, the first field of both, says which.
            var buffer = StatusDatagram()
            while true {
                let n = withUnsafeMutableBytes(of: &buffer) { SystemCalls.receive(fd, $0) }
                if n >= MemoryLayout<UInt32>.size {
                    let kind = withUnsafeBytes(of: &buffer) { $0.load(as: UInt32.self) }
                    if kind == UInt32(CFL_REPORT_REFUSED.rawValue) {
                        if n == MemoryLayout<cfl_refusal>.size {
                            execution.receive(withUnsafeBytes(of: &buffer) { $0.loadUnaligned(as: cfl_refusal.self) })
                        }
                        continue
                    }
                    guard n == MemoryLayout<cfl_report>.size else { continue }
                    let report = withUnsafeBytes(of: &buffer) { $0.loadUnaligned(as: cfl_report.self) }
                    execution.receive(report)
                    // EXITED comes after the whole tree is reaped and FAILED is final: the
                    // monitor has nothing more to say, so don't wait for it to exit.
                    if report.kind == UInt32(CFL_REPORT_EXITED.rawValue) || report.kind == UInt32(CFL_REPORT_FAILED.rawValue) {
                        finish(execution, .status, token: token)
                        return
                    }
                    continue
                }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
                // EOF (or an error): the monitor is gone.
                finish(execution, .status, token: token)
                return
            }
        }
    }

    private func finish(_ execution: Execution, _ stream: Execution.Stream, token: UInt64) {
        if stream == .status && execution.outcome.waitStatus == nil && execution.outcome.failure == nil {
            execution.monitorLost()
        }
        if let fd = execution.streams[stream] {
            _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
            SystemCalls.close(fd)
        }
        execution.streams[stream] = nil
        tokens[token] = nil
        completeIfDone(execution)
    }

    private func completeIfDone(_ execution: Execution) {
        guard running[ObjectIdentifier(execution)] != nil else { return }
        // Done when the status socket closed and both output pipes reached EOF. Input that
        // is still unwritten is abandoned (the command is gone).
        let open = execution.streams.keys.filter { $0 != .stdin }
        guard open.isEmpty else { return }
        if let fd = execution.streams[.stdin], let token = execution.tokens[.stdin] {
            _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
            SystemCalls.close(fd)
            tokens[token] = nil
            execution.streams[.stdin] = nil
        }
        running[ObjectIdentifier(execution)] = nil
        execution.complete()
    }
}

/// Room for one status datagram: the larger of `cfl_report` and `cfl_refusal`, and then some (a
/// longer datagram is cut short and then ignored for its length).
private struct StatusDatagram {
    var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
}
