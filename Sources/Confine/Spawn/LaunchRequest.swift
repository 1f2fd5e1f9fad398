import CConfineProtocol
import ConfinePolicy
#if canImport(Glibc)
import Glibc
#endif

/// One spawn request in the launcher's wire format (see `confine_protocol.h`).
struct LaunchRequest {
    var executable: String
    var arguments: [[UInt8]]
    var environment: [[UInt8]]
    var workingDirectory: String?
    var filter: CompiledFilter?
    var rlimits: [(resource: Int32, soft: UInt64, hard: UInt64)]
    var identity: (uid: UInt32, gid: UInt32)?
    var newSession = true
    /// The launcher's set-id guard before the filter (CFL_FLAG_SETID_GUARD): for a leased uid.
    var setIDGuard = false
    /// Isolation beyond syscalls (CFL_ISO_*), its Landlock scopes, filesystem rules
    /// (CFL_FS_* access, absolute path), the cgroup.procs files to join, the private tmpfs size.
    var isolationFlags: UInt32 = 0
    var landlockScopes: UInt32 = 0
    var filesystemRules: [(access: UInt32, path: String)] = []
    /// For each CFL_FS_IDMAP rule's path: the folder the executor checked (sent after the path).
    var identities: [String: IdmappedMounts.Identity] = [:]
    /// For each CFL_FS_MOUNT rule's path (its target): the source folder (sent after the path).
    var mountSources: [String: String] = [:]
    var cgroups: [String] = []
    var tmpSize: UInt64 = 0
    var shmSizeMiB: UInt32 = 0

    /// The RLIMIT_* number of each policy limit name.
    static let resources: [String: Int32] = [
        "cpu": Int32(RLIMIT_CPU.rawValue), "as": Int32(RLIMIT_AS.rawValue), "fsize": Int32(RLIMIT_FSIZE.rawValue),
        "nofile": Int32(RLIMIT_NOFILE.rawValue), "nproc": Int32(__RLIMIT_NPROC.rawValue),
        "stack": Int32(RLIMIT_STACK.rawValue), "core": Int32(RLIMIT_CORE.rawValue),
        "memlock": Int32(__RLIMIT_MEMLOCK.rawValue), "data": Int32(RLIMIT_DATA.rawValue),
    ]

    static func rlimits(of limits: ResourceLimits) -> [(resource: Int32, soft: UInt64, hard: UInt64)] {
        limits.entries.compactMap { name, value in
            guard let resource = resources[name] else { return nil }
            switch value {
            case .unlimited: return (resource, UInt64.max, UInt64.max)
            case .limited(let n) where name == "cpu":
                // The soft limit sends SIGXCPU; the hard limit, a second later, SIGKILL.
                return (resource, n, n + 1)
            case .limited(let n): return (resource, n, n)
            }
        }
    }

    /// The request header as the launcher reads it: the C struct of `confine_protocol.h`, filled here.
    func header() -> cfl_request_header {
        var flags: UInt32 = 0
        if identity != nil { flags |= UInt32(CFL_FLAG_SETUID) }
        if newSession { flags |= UInt32(CFL_FLAG_SETSID) }
        if let filter, filter.mode != .enforce { flags |= UInt32(CFL_FLAG_NOTIFY) }
        if filter?.mode == .learn { flags |= UInt32(CFL_FLAG_LEARN) }
        if setIDGuard { flags |= UInt32(CFL_FLAG_SETID_GUARD) }
        var header = cfl_request_header()
        header.magic = UInt32(CFL_MAGIC)
        header.flags = flags
        header.uid = identity?.uid ?? 0
        header.gid = identity?.gid ?? 0
        header.nrlimits = UInt32(rlimits.count)
        header.filter_len = UInt32(filter?.bytes.count ?? 0)
        header.path_len = UInt32(executable.utf8.count + 1)
        header.cwd_len = workingDirectory.map { UInt32($0.utf8.count + 1) } ?? 0
        header.argc = UInt32(arguments.count)
        header.envc = UInt32(environment.count)
        header.notify_errno = UInt32(filter?.notifyErrno ?? 1)
        header.iso_flags = isolationFlags
        header.landlock_scopes = landlockScopes
        header.fs_rules_len = UInt32(filesystemRules.reduce(0) {
            $0 + MemoryLayout<UInt32>.size + $1.path.utf8.count + 1 + ($1.access & UInt32(CFL_FS_IDMAP) != 0 ? 16 : 0)
                + ($1.access & UInt32(CFL_FS_MOUNT) != 0 ? (mountSources[$1.path] ?? "/").utf8.count + 1 : 0)
        })
        header.cgroup_len = UInt32(cgroups.reduce(0) { $0 + $1.utf8.count + 1 })
        header.tmp_size = tmpSize
        header.shm_size_mib = shmSizeMiB
        return header
    }

    /// The encoded message: the header and the rlimits as their C structs' bytes (the launcher
    /// runs on the same machine, so native layout and byte order), then the variable sections.
    func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(MemoryLayout<cfl_request_header>.size + 256 + (filter?.bytes.count ?? 0))
        func raw<T>(_ value: T) { withUnsafeBytes(of: value) { out += $0 } }
        func cString(_ s: String) { out += s.utf8; out.append(0) }
        raw(header())
        for limit in rlimits {
            raw(cfl_rlimit(resource: UInt32(bitPattern: limit.resource), pad: 0, soft: limit.soft, hard: limit.hard))
        }
        if let filter { out += filter.bytes }
        cString(executable)
        if let workingDirectory { cString(workingDirectory) }
        for argument in arguments { out += argument; out.append(0) }
        for variable in environment { out += variable; out.append(0) }
        for rule in filesystemRules {
            raw(rule.access)
            cString(rule.path)
            if rule.access & UInt32(CFL_FS_IDMAP) != 0 {
                // No identity (cannot happen: the executor maps only what it checked): one that matches nothing.
                let identity = identities[rule.path] ?? IdmappedMounts.Identity(device: .max, inode: .max)
                raw(identity.device)
                raw(identity.inode)
            }
            if rule.access & UInt32(CFL_FS_MOUNT) != 0 {
                // No source (cannot happen: the plan makes one rule per mount): the root, read-only.
                cString(mountSources[rule.path] ?? "/")
            }
        }
        for path in cgroups { cString(path) }
        return out
    }
}
