import Foundation
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

    private let lock = NSLock()
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
        // A random block first: processes that come and go (one `confine run` each) should not
        // all lease the same uids.
        for k in (0..<Self.blocks).shuffled() {
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

/// The per-command HOME. As root, each leased uid has its own directory,
/// `/tmp/confine-home/<uid>` (0700, owned by the uid, inside a root-owned 0711 directory that
/// no one else can create entries in); it is emptied before the uid is leased again, so a command
/// never sees what an earlier one left. Without root, a fresh directory per command.
enum PrivateHome {
    static let root = "/tmp/confine-home"

    /// The home for a command running as `owner` (nil: the caller's own uid).
    static func acquire(owner: (uid: UInt32, gid: UInt32)?) throws -> String {
        guard let owner else {
            var template = Array("/tmp/confine-home-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw failure("create a home directory under /tmp") }
            return String(cString: made)
        }
        try ensureRoot()
        let path = "\(root)/\(owner.uid)"
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR, info.st_uid == owner.uid else {
                throw ConfineError(.launcherFailed, "\(path) is not the directory of uid \(owner.uid); remove it")
            }
            return path
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw failure("create \(path)") }
        guard chown(path, owner.uid, owner.gid) == 0 else { throw failure("give \(path) to uid \(owner.uid)") }
        return path
    }

    /// Empties the home after its command (in the background when there is anything to remove),
    /// then calls `done`; a fresh per-command directory is removed whole.
    static func release(_ path: String, leased: Bool, done: @escaping @Sendable () -> Void) {
        if leased && isEmpty(path) { done(); return }
        remover.async {
            if leased {
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                    try? FileManager.default.removeItem(atPath: path + "/" + entry)
                }
            } else {
                try? FileManager.default.removeItem(atPath: path)
            }
            done()
        }
    }

    private static let remover = DispatchQueue(label: "confine.home-cleanup", qos: .utility)
    private static let rootReady = NSLock()
    nonisolated(unsafe) private static var rootChecked = false

    /// Creates /tmp/confine-home (root, 0711) once, and refuses one that someone else made.
    private static func ensureRoot() throws {
        rootReady.lock()
        defer { rootReady.unlock() }
        if rootChecked { return }
        if mkdir(root, 0o711) != 0 && errno != EEXIST { throw failure("create \(root)") }
        var info = stat()
        guard lstat(root, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == 0, info.st_mode & 0o022 == 0 else {
            throw ConfineError(.launcherFailed, "\(root) must be a directory owned by root and writable by no one else; remove it")
        }
        chmod(root, 0o711)
        rootChecked = true
    }

    private static func isEmpty(_ path: String) -> Bool {
        guard let directory = opendir(path) else { return true }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { return false }
        }
        return true
    }

    private static func failure(_ what: String) -> ConfineError {
        ConfineError(.launcherFailed, "cannot \(what): \(String(cString: strerror(errno)))")
    }
}
