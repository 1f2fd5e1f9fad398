import CConfineProtocol
import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Writable directories of a command that runs as a leased uid, mounted in its mount namespace
/// with their owner mapped to that uid (idmapped mounts, mount_setattr(2) `MOUNT_ATTR_IDMAP`):
/// the command writes in a root-owned project folder, and what it makes there is root's on disk.
///
/// That power has one danger: a file the command makes there is the owner's, so a set-uid or
/// set-gid bit on it would hand the owner's identity to anyone on the host who runs it. The
/// mounts are `nosuid` and `nodev`, and with them the launcher installs a seccomp filter of its
/// own before the policy's (`install_setid_guard`): whatever the policy allows, no call may set
/// a set-id mode or make a device node.
enum IdmappedMounts {
    /// statfs(2) types whose filesystems can be mounted idmapped on any kernel Confine supports
    /// (FS_ALLOW_IDMAP since 5.12–5.19): ext2/3/4, XFS, Btrfs, F2FS, FAT. Others (tmpfs before
    /// 6.3, overlayfs, NFS, FUSE) keep the plain view, with a warning where one is asked for.
    static let supportedTypes: Set<Int64> = [0xEF53, 0x5846_5342, 0x9123_683E, 0xF2F5_2010, 0x4D44]

    /// Whether the filesystem holding `path` can be mounted idmapped.
    static func supports(_ path: String) -> Bool {
        supportedTypes.contains(Int64(CConfine_filesystemType(path)))
    }

    /// Why `path` will not be mounted idmapped for a command, or nil when it will or need not be.
    static func obstacle(_ path: String) -> String? {
        let type = Int64(CConfine_filesystemType(path))
        guard type >= 0, !supportedTypes.contains(type) else { return nil }
        return "\(path) is on a filesystem (statfs type 0x\(String(type, radix: 16))) that cannot be mounted idmapped, so a command under a leased uid writes there only as the folder's permissions allow"
    }
}
