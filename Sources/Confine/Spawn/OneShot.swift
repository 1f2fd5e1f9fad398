import Dispatch
import FoundationEssentials

/// A value delivered once, awaited by an async task or a blocked thread.
final class OneShot<Value: Sendable>: @unchecked Sendable {
    private let lock = Lock()
    private var value: Value?
    private var continuation: CheckedContinuation<Value, Never>?
    private var semaphore: DispatchSemaphore?

    func fulfill(_ newValue: Value) {
        lock.lock()
        value = newValue
        let waiting = continuation
        continuation = nil
        let blocked = semaphore
        lock.unlock()
        waiting?.resume(returning: newValue)
        blocked?.signal()
    }

    func wait() async -> Value {
        await withCheckedContinuation { continuation in
            lock.lock()
            if let value {
                lock.unlock()
                continuation.resume(returning: value)
            } else {
                self.continuation = continuation
                lock.unlock()
            }
        }
    }

    func waitBlocking() -> Value {
        lock.lock()
        if let value {
            lock.unlock()
            return value
        }
        let semaphore = DispatchSemaphore(value: 0)
        self.semaphore = semaphore
        lock.unlock()
        semaphore.wait()
        lock.lock()
        defer { lock.unlock() }
        return value!
    }
}
