import CConfineProtocol
import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The working directory of a command that runs as a leased uid, mounted in its mount namespace
/// with its owner mapped to that uid (idmapped mounts, mount_setattr(2) `MOUNT_ATTR_IDMAP`), when
/// the executor is asked to (`Executor.writingAsWorkingDirectoryOwner()`): the command writes in
/// a root-owned project folder, and what it makes there is root's on disk.
///
/// The command then holds the owner's authority over what the owner owns below the directory.
/// A set-uid or set-gid file of the owner there would hand that identity to anyone on the host:
/// the mount is `nosuid` and `nodev`; the launcher installs a seccomp filter of its own before
/// the policy's (`install_setid_guard`), so that whatever the policy allows no call sets a
/// set-id mode or makes a device node; and a directory already holding such a file is not
/// mapped (`obstacle`).
enum IdmappedMounts {
    /// statfs(2) types whose filesystems can be mounted idmapped on any kernel Confine supports
    /// (FS_ALLOW_IDMAP since 5.12–5.19): ext2/3/4, XFS, Btrfs, F2FS, FAT. Others (tmpfs before
    /// 6.3, overlayfs, NFS, FUSE) keep the plain view, with a warning where one is asked for.
    static let supportedTypes: [Int64] = [0xEF53, 0x5846_5342, 0x9123_683E, 0xF2F5_2010, 0x4D44]

    /// Entries a directory may hold, all levels, for `obstacle` to check it: about 6 µs each
    /// here (an fstatat, and a getxattrat for the owner's files), 0.3 s for a 50,000-entry tree.
    static let scanLimit = 50_000

    /// Why `directory` must not or cannot be mounted as a leased uid's own, or nil when it can
    /// (or need not: the launcher leaves a directory others may write as it is).
    ///
    /// Refused: a filesystem that cannot be idmapped; a tree holding a mount point (what lies
    /// under it would show through the mount); a tree holding a set-uid or set-gid file of the
    /// directory's owner or group, or one with a file capability (`security.capability`) — the
    /// command, as the owner (or in its group), could rewrite it
    /// through a shared mapping, which keeps the bit or capability (a `write(2)` clears them, a
    /// page written through `mmap(2)` does not), and anyone on the host could then run its code as that
    /// owner; a tree of more than `scanLimit` entries (too large to check), or with a folder or
    /// entry the check cannot read (it fails closed). Results are kept
    /// for two seconds (`confine run` asks twice: to warn, then to launch), for the same folder
    /// only: the path's device and inode must still match (a folder swapped in is checked anew).
    static func obstacle(_ directory: String) -> String? { check(directory).obstacle }

    /// The folder a check examined, by device and inode: the launcher maps a folder only if
    /// the one it opens is this one (a folder swapped in after the check is refused).
    struct Identity: Hashable, Sendable {
        var device: UInt64
        var inode: UInt64
    }

    /// The check's verdict, and the folder it examined (nil when it could not open one).
    static func check(_ directory: String) -> (obstacle: String?, identity: Identity?) {
        let now = ContinuousClock.now
        var info = stat()
        // The same folder, unchanged (owner and mode changes move its ctime).
        let key = stat(directory, &info) == 0 ? "\(info.st_dev):\(info.st_ino):\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec):\(directory)" : nil
        lock.lock()
        if let key, let kept = checked[key], kept.at.duration(to: now) < .seconds(2) {
            lock.unlock()
            return (kept.obstacle, kept.identity)
        }
        lock.unlock()
        let found = examine(directory)
        guard let key, let identity = found.identity, key.hasPrefix("\(identity.device):\(identity.inode):") else { return found }
        lock.lock()
        checked[key] = (now, found.obstacle, identity)
        lock.unlock()
        return found
    }

    private static let lock = Lock()
    nonisolated(unsafe) private static var checked: [String: (at: ContinuousClock.Instant, obstacle: String?, identity: Identity)] = [:]

    private static func examine(_ directory: String) -> (obstacle: String?, identity: Identity?) {
        // The folder opened once, without following a link, and walked through that descriptor
        // (/proc/self/fd/N/...): a folder swapped in at its path during the walk is not the one
        // examined, and the launcher, given this one's identity, refuses it.
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOTDIR || e == ENOENT { return (nil, nil) } // a file, or nothing: nothing to mount
            return ("\(directory) cannot be opened to check it (\(ConfineError.errnoText(e)))", nil)
        }
        defer { close(fd) }
        let pinned = "/proc/self/fd/\(fd)"
        var top = stat()
        guard fstat(fd, &top) == 0 else { return ("\(directory) cannot be examined", nil) }
        let identity = Identity(device: UInt64(top.st_dev), inode: UInt64(top.st_ino))
        let type = Int64(CConfine_filesystemType(pinned))
        guard type >= 0 else { return ("\(directory) cannot be examined (statfs)", identity) }
        guard supportedTypes.contains(type) else {
            return ("\(directory) is on a filesystem (statfs type 0x\(String(type, radix: 16))) that cannot be mounted idmapped", identity)
        }
        // Written as root, a command could rewrite a cached filter or policy that later runs obey.
        if CompiledFilterStore.protectedFolders.contains(identity) {
            return ("\(directory) holds Confine's cache of compiled filters and parsed policies: mounted as its owner's, a command could rewrite what later runs obey", identity)
        }
        guard top.st_mode & S_IWOTH == 0 else { return (nil, identity) }
        if let swappable = swappable(directory, owner: top.st_uid) { return (swappable, identity) }
        return (walk(directory, descriptor: fd, top: top), identity)
    }

    /// Why someone other than root and the folder's owner could have put this folder at its
    /// path (and so could choose which folder of the owner's gets mapped), or nil: every folder
    /// above it must belong to root or the owner, and one that others may write must be
    /// sticky (`/tmp`: there only root and an entry's owner may rename it).
    private static func swappable(_ directory: String, owner: uid_t) -> String? {
        let components = directory.split(separator: "/")
        var folder = "/"
        for component in components {
            var info = stat()
            guard lstat(folder, &info) == 0 else { return "\(folder), above \(directory), cannot be examined" }
            let next = folder == "/" ? "/" + component : folder + "/" + component
            if info.st_uid != 0 && info.st_uid != owner {
                return "\(folder), above \(directory), belongs to uid \(info.st_uid), who could put another folder of uid \(owner)'s at \(next)"
            }
            // (In a sticky one, only root, the folder's owner and the entry's may rename the
            // entry: the entry is checked as the next folder, or is the directory itself.)
            if info.st_mode & (S_IWGRP | S_IWOTH) != 0 && info.st_mode & S_ISVTX == 0 {
                return "\(folder), above \(directory), may be written by others, who could put another folder at \(next)"
            }
            folder = next
        }
        return nil
    }

    private static func walk(_ directory: String, descriptor: Int32, top: stat) -> String? {
        // Each folder is opened from its parent's descriptor (openat, no link followed) and its
        // entries examined from its own (fstatat, getxattrat): no path is walked again from the
        // top for every entry, and a folder swapped in for another during the walk is never
        // reached through a link. Names are bytes, as the kernel has them (a name need not be
        // UTF-8); any entry that cannot be listed or examined stops the mapping (fails closed).
        // Folders are read whole before any below them is opened: one descriptor a level.
        struct Level {
            let fd: Int32
            let path: [UInt8]      // from the top, for messages
            var below: [[UInt8]]   // its folders not walked yet
        }
        func text(_ path: [UInt8]) -> String { directory + String(decoding: path, as: UTF8.self) }
        func cString<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
            (bytes + [0]).withUnsafeBufferPointer { body(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self)) }
        }
        var seen = 0
        // Lists the folder open at `fd` (`path` below the top): the names of its folders, or
        // why the mapping must not be made.
        func examine(_ fd: Int32, _ path: [UInt8]) -> Result<[[UInt8]], Refusal> {
            let copy = dup(fd)
            guard copy >= 0, let stream = fdopendir(copy) else {
                let e = errno
                if copy >= 0 { close(copy) }
                return .failure(Refusal("\(directory) holds \(text(path)), which cannot be read to check it (\(ConfineError.errnoText(e)))"))
            }
            defer { closedir(stream) }
            var folders: [[UInt8]] = []
            while let entry = readdir(stream) {
                // d_name is NUL-terminated: used in place, copied only for a folder or a message
                let verdict: Verdict = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                    let name = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                    if name[0] == 0x2e && (name[1] == 0 || (name[1] == 0x2e && name[2] == 0)) { return .skip }
                    seen += 1
                    if seen > scanLimit { return .refuse("\(directory) holds more than \(scanLimit) entries, too many to check for set-uid files") }
                    func here() -> String { text(path + [0x2f] + Array(raw.prefix { $0 != 0 })) }
                    var info = stat()
                    guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                        return .refuse("\(directory) holds \(here()), which cannot be examined (\(ConfineError.errnoText(errno)))")
                    }
                    let kind = info.st_mode & S_IFMT
                    if kind == S_IFDIR {
                        if info.st_dev != top.st_dev { return .refuse("\(directory) holds a mount point (\(here()))") }
                        return .folder(Array(raw.prefix { $0 != 0 }))
                    }
                    if kind == S_IFREG, info.st_uid == top.st_uid || info.st_gid == top.st_gid {
                        // Writable to the command as the owner, or through the owner's group: a
                        // privilege the file carries survives a rewrite through a shared mapping.
                        if info.st_mode & (S_ISUID | S_ISGID) != 0 {
                            return .refuse("\(directory) holds \(here()), a set-uid or set-gid file of the directory's owner or group, which the command could rewrite as them")
                        }
                        if CConfine_hasFileCapabilityAt(fd, name) != 0 {
                            return .refuse("\(directory) holds \(here()), a file of the directory's owner or group with a file capability (or whose capabilities cannot be read), which the command could rewrite")
                        }
                    }
                    return .skip
                }
                switch verdict {
                case .skip: continue
                case .folder(let name): folders.append(name)
                case .refuse(let reason): return .failure(Refusal(reason))
                }
            }
            return .success(folders)
        }

        var levels: [Level] = []
        defer { for level in levels.dropFirst() { close(level.fd) } }
        switch examine(descriptor, []) {
        case .failure(let refusal): return refusal.reason
        case .success(let folders): levels.append(Level(fd: descriptor, path: [], below: folders))
        }
        while var level = levels.popLast() {
            guard let name = level.below.popLast() else {
                if !levels.isEmpty { close(level.fd) } // the top's is the caller's
                continue
            }
            levels.append(level)
            let path = level.path + [0x2f] + name
            let fd = cString(name) { openat(level.fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            var info = stat()
            guard fd >= 0, fstat(fd, &info) == 0, info.st_dev == top.st_dev else {
                let e = errno
                if fd >= 0 { close(fd) }
                // swapped for something else (a link, a mount) since it was listed, or unreadable
                return "\(directory) holds \(text(path)), which cannot be read to check it (\(fd >= 0 ? "changed during the check" : ConfineError.errnoText(e)))"
            }
            switch examine(fd, path) {
            case .failure(let refusal):
                close(fd)
                return refusal.reason
            case .success(let folders):
                levels.append(Level(fd: fd, path: path, below: folders))
            }
        }
        return nil
    }

    private enum Verdict {
        case skip, folder([UInt8]), refuse(String)
    }

    private struct Refusal: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
