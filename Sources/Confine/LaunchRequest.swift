import CConfineProtocol
import ConfinePolicy
#if canImport(Glibc)
import Glibc
#endif

/// One spawn request in the launcher's wire format (see `confine_protocol.h`).
struct LaunchRequest {
    var executable: String
    var arguments: [String]
    var environment: [String]
    var workingDirectory: String?
    var filter: CompiledFilter?
    var rlimits: [(resource: Int32, soft: UInt64, hard: UInt64)]
    var identity: (uid: UInt32, gid: UInt32)?
    var newSession = true
    /// Isolation beyond syscalls (CFL_ISO_*), its Landlock scopes, filesystem rules
    /// (CFL_FS_* access, absolute path), the cgroup.procs files to join, the private tmpfs size.
    var isolationFlags: UInt32 = 0
    var landlockScopes: UInt32 = 0
    var filesystemRules: [(access: UInt32, path: String)] = []
    var cgroups: [String] = []
    var tmpSize: UInt64 = 0

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

    /// The encoded message.
    func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + (filter?.bytes.count ?? 0))
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func cString(_ s: String) { out += s.utf8; out.append(0) }
        var flags: UInt32 = 0
        if identity != nil { flags |= UInt32(CFL_FLAG_SETUID) }
        if newSession { flags |= UInt32(CFL_FLAG_SETSID) }
        if let filter, filter.mode != .enforce { flags |= UInt32(CFL_FLAG_NOTIFY) }
        if filter?.mode == .learn { flags |= UInt32(CFL_FLAG_LEARN) }
        u32(CFL_MAGIC)
        u32(flags)
        u32(identity?.uid ?? 0)
        u32(identity?.gid ?? 0)
        u32(UInt32(rlimits.count))
        u32(UInt32(filter?.bytes.count ?? 0))
        u32(UInt32(executable.utf8.count + 1))
        u32(workingDirectory.map { UInt32($0.utf8.count + 1) } ?? 0)
        u32(UInt32(arguments.count))
        u32(UInt32(environment.count))
        u32(UInt32(filter?.notifyErrno ?? 1))
        u32(isolationFlags)
        u32(landlockScopes)
        u32(UInt32(filesystemRules.reduce(0) { $0 + 4 + $1.path.utf8.count + 1 }))
        u32(UInt32(cgroups.reduce(0) { $0 + $1.utf8.count + 1 }))
        u32(0)
        u64(tmpSize)
        for limit in rlimits {
            u32(UInt32(bitPattern: limit.resource))
            u32(0)
            u64(limit.soft)
            u64(limit.hard)
        }
        if let filter { out += filter.bytes }
        cString(executable)
        if let workingDirectory { cString(workingDirectory) }
        for argument in arguments { cString(argument) }
        for variable in environment { cString(variable) }
        for rule in filesystemRules {
            u32(rule.access)
            cString(rule.path)
        }
        for path in cgroups { cString(path) }
        return out
    }
}
