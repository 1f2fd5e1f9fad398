import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The per-command HOME. As root, each leased uid has its own directory,
/// `/tmp/confine-home/<uid>` (0700, owned by the uid, inside a root-owned 0711 directory that
/// no one else can create entries in); it is emptied before the uid is leased again, so a command
/// never sees what an earlier one left, and removed when its command ends. Without root, a
/// fresh directory per command.
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
            // Normally emptied when its last command ended; but a process that exited before
            // its background cleanup ran (or was killed) leaves it as it was. The uid is ours now
            // (its block is locked), so whatever is there is from an earlier command: remove it.
            if !isEmpty(path) {
                removeContents(of: path)
                guard isEmpty(path) else {
                    throw ConfineError(.launcherFailed, "cannot empty \(path), left by an earlier command of uid \(owner.uid); remove it")
                }
            }
            chmod(path, 0o700)
            return path
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw failure("create \(path)") }
        guard chown(path, owner.uid, owner.gid) == 0 else { throw failure("give \(path) to uid \(owner.uid)") }
        return path
    }

    /// Removes the home after its command (in the background when there is anything in it),
    /// then calls `done`: a leased uid's is made again at its next lease, so none stays behind
    /// for every uid ever leased.
    static func release(_ path: String, leased: Bool, done: @escaping @Sendable () -> Void) {
        if leased && rmdir(path) == 0 { done(); return }
        remover.async {
            removeContents(of: path)
            rmdir(path)
            done()
        }
    }

    /// Waits for the removals `release` has queued: a program about to exit (`confine run`)
    /// must not leave a command's files behind for the next one.
    static func waitForReleases() {
        remover.sync {}
    }

    /// Removes everything inside `path`, whatever the command did to the permissions of what it
    /// made (a folder of mode 0500 cannot be emptied by its owner until it is writable again),
    /// without following a symbolic link anywhere in it: each folder is opened with O_NOFOLLOW and
    /// emptied through its descriptor (unlinkat(2)), so a process of the command's uid that swaps
    /// a folder for a link cannot steer the removal, run as root, to other files.
    static func removeContents(of path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 { removeContents(directory: fd) }
    }

    /// Empties the open folder `fd`, and closes it.
    private static func removeContents(directory fd: Int32) {
        guard let directory = fdopendir(fd) else { close(fd); return }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        for name in names where unlinkat(fd, name, 0) != 0 {
            // A folder: empty it through a descriptor of its own, then remove it.
            let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else { continue }
            fchmod(child, 0o700)
            removeContents(directory: child)
            unlinkat(fd, name, AT_REMOVEDIR)
        }
    }

    private static let remover = DispatchQueue(label: "confine.home-cleanup", qos: .utility)
    private static let rootReady = Lock()
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
