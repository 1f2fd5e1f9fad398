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

    /// Entries a directory may hold, all levels, for `obstacle` to check it: about 10 µs each
    /// here (an lstat, and an lgetxattr for the owner's files), 0.6 s for a 42,000-entry tree.
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
        return (walk(directory, pinned: pinned, top: top), identity)
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

    private static func walk(_ directory: String, pinned: String, top: stat) -> String? {
        // Paths as bytes, as the kernel has them (a name need not be UTF-8); any entry that
        // cannot be listed or examined, a path too long among them, stops the mapping.
        let prefix = Array(pinned.utf8)
        func text(_ path: [UInt8]) -> String { directory + String(decoding: path.dropFirst(prefix.count), as: UTF8.self) }
        var pending: [[UInt8]] = [prefix]
        var seen = 0
        while let folder = pending.popLast() {
            guard let stream = (folder + [0]).withUnsafeBufferPointer({ opendir(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self)) }) else {
                let e = errno
                return "\(directory) holds \(text(folder)), which cannot be read to check it (\(ConfineError.errnoText(e)))"
            }
            defer { closedir(stream) }
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
                if name == [0x2e] || name == [0x2e, 0x2e] { continue }
                seen += 1
                if seen > scanLimit { return "\(directory) holds more than \(scanLimit) entries, too many to check for set-uid files" }
                let path = folder + [0x2f] + name
                var info = stat()
                let examined = (path + [0]).withUnsafeBufferPointer { lstat(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), &info) }
                guard examined == 0 else {
                    let e = errno
                    return "\(directory) holds \(text(path)), which cannot be examined (\(ConfineError.errnoText(e)))"
                }
                let kind = info.st_mode & S_IFMT
                if kind == S_IFDIR {
                    if info.st_dev != top.st_dev { return "\(directory) holds a mount point (\(text(path)))" }
                    pending.append(path)
                } else if kind == S_IFREG, info.st_uid == top.st_uid || info.st_gid == top.st_gid {
                    // Writable to the command as the owner, or through the owner's group: a
                    // privilege the file carries survives a rewrite through a shared mapping.
                    if info.st_mode & (S_ISUID | S_ISGID) != 0 {
                        return "\(directory) holds \(text(path)), a set-uid or set-gid file of the directory's owner or group, which the command could rewrite as them"
                    }
                    let capability = (path + [0]).withUnsafeBufferPointer {
                        CConfine_hasFileCapability(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self))
                    }
                    if capability != 0 {
                        return "\(directory) holds \(text(path)), a file of the directory's owner or group with a file capability (or whose capabilities cannot be read), which the command could rewrite"
                    }
                }
            }
        }
        return nil
    }
}
