import ConfineRuntime
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs persisted asynchronous invocations, oldest first, a few at a time. A task that a stop
/// interrupts stays "Running" in the store and is queued again at the next start.
final class AsyncWorker: Service, Sendable {
    private struct State {
        weak var service: ConfineService?
        var wakeups: AsyncStream<Void>.Continuation?
        var stopped = false
    }
    let workers: Int
    private let state = Mutex(State())
    private let signals: AsyncStream<Void>
    private let complaints = Complaints()

    init(workers: Int) {
        self.workers = workers
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        signals = stream
        state.withLock { $0.wakeups = continuation }
    }

    func attach(_ service: ConfineService) { state.withLock { $0.service = service } }

    /// A task was enqueued.
    func wake() { _ = state.withLock { $0.wakeups?.yield() } }

    /// Takes no more tasks.
    func stop() {
        state.withLock {
            $0.stopped = true
            $0.wakeups?.finish()
        }
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for _ in 0..<workers { group.addTask { await self.loop() } }
            }
            // Stopped early by the service's own shutdown (`stop()`): a service group counts a
            // service that returns before its turn as failed, so wait for the turn.
            try? await gracefulShutdown()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    private func loop() async {
        var iterator = signals.makeAsyncIterator()
        while true {
            let (service, stopped) = state.withLock { ($0.service, $0.stopped) }
            guard let service, !stopped, !Task.isCancelled else { return }
            let task: AsyncTask?
            service.metrics.asyncPolls.increment()
            do { task = try await service.store.claim() } catch {
                // once per trouble, and again each minute it lasts: not every worker every second
                if complaints.shouldLog("\(error)") {
                    service.logger.error("async queue read failed (retried each second)", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            service.metrics.asyncPending.set(Double((try? await service.store.pendingCount()) ?? 0))
            guard let task else {
                // Sleep until a wake-up, or poll each second (another process may share the store).
                // A tick cancelled because a wake-up came first must not wake anyone itself: that
                // wake-up would be the next one, and the workers would wake each other for ever.
                let tick = Task {
                    guard (try? await Task.sleep(for: .seconds(1))) != nil else { return }
                    service.worker.wake()
                }
                _ = await iterator.next()
                tick.cancel()
                continue
            }
            await service.runAsync(task)
        }
    }
}

extension ConfineService {
    /// Runs one asynchronous invocation and stores its outcome.
    func runAsync(_ task: AsyncTask) async {
        let started = ContinuousClock.now
        guard let runtime, runtime.configuration.functions[task.function] != nil else {
            let error = FunctionError("FunctionNotFound", "function '\(task.function)' is no longer configured")
            _ = try? await store.finish(task.id, succeeded: false, result: nil, error: String(decoding: error.json, as: UTF8.self),
                                    audit: AuditRecord(requestID: task.id, keyID: task.keyID, kind: "async-run", function: task.function,
                                                       outcome: "handler-error", httpStatus: 0, message: error.description))
            return
        }
        let invocation: Invocation
        do {
            invocation = try await admitted { await runtime.invoke(task.function, event: task.event, requestID: task.id) }
        } catch {
            // Cancelled by shutdown, or refused while stopping: it stays Running and is queued again next start.
            logger.notice("asynchronous invocation interrupted", metadata: ["task": "\(task.id)", "error": "\(error)"])
            return
        }
        let policy = runtime.configuration.functions[task.function]?.policy.name
        var result: [UInt8]?
        var errorText: String?
        var outcome = "ok"
        switch invocation.result {
        case .success(let bytes): result = bytes
        case .failure(let error):
            errorText = String(decoding: error.json, as: UTF8.self)
            outcome = error.errorType == "FunctionTimeout" ? "timeout" : "handler-error"
        }
        let record = AuditRecord(requestID: task.id, keyID: task.keyID, kind: "async-run", function: task.function, policy: policy,
                                 outcome: outcome, exitStatus: invocation.exitStatus, signal: invocation.process?.signal,
                                 refusedSyscall: invocation.process?.refused.first?.description, duration: started.duration(to: .now).seconds,
                                 bytesIn: task.event.count, bytesOut: result?.count ?? 0, httpStatus: 0, message: invocation.result.failureText)
        metrics.completed(route: "async-run", function: task.function, outcome: outcome, duration: started.duration(to: .now))
        do {
            if try await !store.finish(task.id, succeeded: result != nil, result: result, error: errorText, audit: record) {
                // its lease ran out (this node was cut off for longer than the lease) and another
                // node took the task: that node's result is the one written
                logger.warning("asynchronous invocation finished after its lease ran out; another node owns it", metadata: ["task": "\(task.id)"])
            }
        } catch {
            logger.error("async outcome write failed", metadata: ["task": "\(task.id)", "error": "\(error)"])
        }
    }
}

/// Says when a repeated failure is worth another log line: a new message, or a minute since the last.
final class Complaints: Sendable {
    private let last = Mutex<(message: String, at: ContinuousClock.Instant)?>(nil)

    func shouldLog(_ message: String) -> Bool {
        last.withLock { last in
            let now = ContinuousClock.now
            if let previous = last, previous.message == message, previous.at.duration(to: now) < .seconds(60) { return false }
            last = (message, now)
            return true
        }
    }
}
