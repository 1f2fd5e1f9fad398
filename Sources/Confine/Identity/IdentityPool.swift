import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Unprivileged uids leased one per running command, so that no two commands share a uid.
///
/// Sharing one uid (say `nobody`) would let a command read another's memory and environment
/// through /proc (same-uid ptrace access), signal it, and use up its RLIMIT_NPROC. Each
/// process holding Confine reserves a block of 1024 uids with an flock(2) on
/// `/run/confine/uids-K.lock`, so two services on one host never lease the same uid.
final class IdentityPool: @unchecked Sendable {
    static let shared = IdentityPool()

    /// The first uid of the pool's range; blocks of 1024 follow.
    static let base: UInt32 = 600_000
    static let blockSize: UInt32 = 1024
    static let blocks: UInt32 = 256

    private let lock = Lock()
    private var block: UInt32?
    private var lockFD: Int32 = -1
    private var free: [UInt32] = []

    /// Leases a uid (used as the gid too).
    /// - Throws: `ConfineError.launcherFailed` when no block can be reserved or all are in use.
    func lease() throws -> UInt32 {
        lock.lock()
        defer { lock.unlock() }
        if block == nil { try reserveBlock() }
        guard let uid = free.popLast() else {
            throw ConfineError(.launcherFailed, "all \(Self.blockSize) confined uids of this process are in use: too many commands at once")
        }
        return uid
    }

    /// Returns a uid once every process of its command is gone.
    func release(_ uid: UInt32) {
        lock.lock()
        // Most recently used first: its home directory already exists (and was emptied), and
        // the kernel's per-uid accounting is warm. Reuse across commands is the same either way.
        free.append(uid)
        lock.unlock()
    }

    private func reserveBlock() throws {
        let directory = "/run/confine"
        mkdir(directory, 0o755)
        // From a random block on: processes that come and go (one `confine run` each) should not
        // all lease the same uids. One random number, not a shuffle (a getrandom(2) per element).
        let start = UInt32.random(in: 0..<Self.blocks)
        for k in (0..<Self.blocks).map({ (start + $0) % Self.blocks }) {
            let fd = open("\(directory)/uids-\(k).lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
            guard fd >= 0 else { break }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                lockFD = fd
                block = k
                let first = Self.base + k * Self.blockSize
                free = (first..<(first + Self.blockSize)).reversed()
                return
            }
            close(fd)
        }
        throw ConfineError(.launcherFailed, "cannot reserve a block of confined uids under /run/confine (\(String(cString: strerror(errno))))")
    }
}
