import Foundation
import Synchronization

/// Bounded concurrency with a bounded queue: at most `limit` pieces of work run at once, at most
/// `queueLimit` wait; past that a request is refused at once (503 + Retry-After), so overload
/// costs neither a crash nor unbounded memory.
final class Admission: Sendable {
    private struct State {
        var running = 0
        var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID: UInt64 = 0
        var closed = false
    }

    let limit: Int
    let queueLimit: Int
    private let state = Mutex(State())

    init(limit: Int, queueLimit: Int) {
        self.limit = limit
        self.queueLimit = queueLimit
    }

    var running: Int { state.withLock { $0.running } }
    var queued: Int { state.withLock { $0.waiting.count } }

    /// Waits for a slot. Throws `ServiceError` 503 when the queue is full or the server is stopping,
    /// `CancellationError` if the waiting task is cancelled.
    func acquire() async throws {
        enum Decision { case run, wait(UInt64), refuse(ServiceError) }
        let decision: Decision = state.withLock { s in
            if s.closed {
                return .refuse(ServiceError(.serviceUnavailable, "ServerShuttingDown",
                                            "the server is shutting down and takes no new work; retry on another node or after it restarts", retryAfter: 1))
            }
            if s.running < limit && s.waiting.isEmpty { s.running += 1; return .run }
            if s.waiting.count >= queueLimit {
                return .refuse(ServiceError(.serviceUnavailable, "ServerBusy",
                                            "too many requests in flight: \(limit) requests are running and \(queueLimit) are queued; retry later", retryAfter: 1))
            }
            s.nextID += 1
            return .wait(s.nextID)
        }
        switch decision {
        case .run: return
        case .refuse(let error): throw error
        case .wait(let id):
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let cancelled: Bool = state.withLock { s in
                        if Task.isCancelled { return true }
                        s.waiting.append((id, continuation))
                        return false
                    }
                    if cancelled { continuation.resume(throwing: CancellationError()) }
                }
            } onCancel: {
                let continuation = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                    guard let index = s.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                    return s.waiting.remove(at: index).continuation
                }
                continuation?.resume(throwing: CancellationError())
            }
        }
    }

    /// Gives a slot back, to the longest waiter if there is one.
    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            if !s.waiting.isEmpty { return s.waiting.removeFirst().continuation }
            s.running -= 1
            return nil
        }
        next?.resume()
    }

    /// Refuses new work and every waiter (shutdown).
    func close() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.closed = true
            defer { s.waiting.removeAll() }
            return s.waiting.map(\.continuation)
        }
        for w in waiters {
            w.resume(throwing: ServiceError(.serviceUnavailable, "ServerShuttingDown", "the server is shutting down and takes no new work; retry on another node or after it restarts", retryAfter: 1))
        }
    }
}

/// Per-key token buckets.
final class RateLimiter: Sendable {
    private struct Bucket { var tokens: Double; var updated: ContinuousClock.Instant }
    private let buckets = Mutex([String: Bucket]())

    /// Takes a token from the key's bucket, or says how many seconds until one is there.
    func take(_ key: ServiceConfiguration.Key, now: ContinuousClock.Instant = .now) -> Int? {
        guard let rate = key.rateLimit else { return nil }
        return buckets.withLock { all in
            var bucket = all[key.id] ?? Bucket(tokens: Double(key.burst), updated: now)
            let elapsed = Double(bucket.updated.duration(to: now).components.seconds) + Double(bucket.updated.duration(to: now).components.attoseconds) / 1e18
            bucket.tokens = min(Double(key.burst), bucket.tokens + max(0, elapsed) * rate)
            bucket.updated = now
            defer { all[key.id] = bucket }
            if bucket.tokens >= 1 { bucket.tokens -= 1; return nil }
            return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }
}
