import CConfineProtocol
#if canImport(Glibc)
import Glibc
#endif

/// A mutex (pthread_mutex(3)), for state shared with the reactor thread. Foundation's NSLock
/// would do the same, but linking it pulls Foundation's ICU-backed half (38 MB of data, ~2.5 ms
/// more at every start of `confine`); FoundationEssentials has none.
package final class Lock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }
}

/// Starts `body` on a new detached thread (pthread_create(3)), named `name` (at most 15 bytes);
/// false if it could not be started.
@discardableResult
package func startThread(name: String? = nil, _ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        guard let raw else { return nil }
        Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
        return nil
    }, box)
    guard rc == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        return false
    }
    if let name { _ = CConfine_setThreadName(thread, String(name.utf8.prefix(15)) ?? "confine") }
    pthread_detach(thread)
    return true
}
