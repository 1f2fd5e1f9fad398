import CConfineProtocol
import ConfinePolicy
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the kernel offers for isolation, probed once.
public enum IsolationSupport {
    /// Landlock's ABI version (0: none).
    public static let landlockABI: Int = {
        Int(cfl_landlock_abi())
    }()

    static let isRoot = geteuid() == 0

    /// Checks a policy's isolation against this machine: throws when a part it requires is
    /// missing, and returns a warning for each part it will run without.
    /// - Throws: `ConfineError(.confinementFailed)` naming the part and why.
    public static func check(_ policy: Policy) throws -> [String] {
        let isolation = policy.isolation
        var missing: [String] = []
        if isolation.filesystem != nil && landlockABI == 0 {
            missing.append("isolation.filesystem needs Landlock, which this kernel does not offer (enable CONFIG_SECURITY_LANDLOCK and lsm=landlock)")
        }
        let namespaces = isolation.network == .none || isolation.pidNamespace || isolation.privateIPC || isolation.filesystem?.tmp != nil
            || isolation.filesystem?.readOnlyRoot == true
        if namespaces && !isRoot {
            missing.append("namespaces (isolation.network none, processes.namespace, ipc private, filesystem.tmp, readOnlyRoot) need Confine to run as root")
        }
        if isolation.usesCgroups && !Cgroups.available {
            missing.append("isolation.memory/cpu/processes.max need writable cgroup v1 controllers at /sys/fs/cgroup/{memory,cpu,pids} (Confine as root)")
        }
        if missing.isEmpty { return [] }
        if isolation.required {
            throw ConfineError(.confinementFailed, "policy '\(policy.name)' requires isolation this machine cannot give: \(missing.joined(separator: "; "))")
        }
        return missing.map { "policy '\(policy.name)' runs without part of its isolation: \($0)" }
    }
}

/// The launcher's isolation fields for one command.
struct IsolationPlan {
    var flags: UInt32 = 0
    var scopes: UInt32 = 0
    var rules: [(access: UInt32, path: String)] = []
    var tmpSize: UInt64 = 0
    /// HOME/TMPDIR for the command when it gets a private /tmp.
    var privateTmp: Bool { tmpSize > 0 }

    static let read = UInt32(CFL_FS_READ), write = UInt32(CFL_FS_WRITE), exec = UInt32(CFL_FS_EXEC), noFollow = UInt32(CFL_FS_NOFOLLOW)

    /// What the policy asks for, less what the machine lacks (`IsolationSupport.check` has
    /// already refused a required part that is missing).
    init(_ isolation: Isolation, workingDirectory: String?, home: String?, executable: String, grants: [String: Isolation.Access]) {
        let root = IsolationSupport.isRoot
        if root {
            if isolation.network == .none { flags |= UInt32(CFL_ISO_NEWNET) }
            if isolation.pidNamespace { flags |= UInt32(CFL_ISO_NEWPID) }
            if isolation.privateIPC { flags |= UInt32(CFL_ISO_NEWIPC) }
        }
        guard let filesystem = isolation.filesystem else { return }
        if root {
            if let tmp = filesystem.tmp { tmpSize = tmp }
            if filesystem.readOnlyRoot { flags |= UInt32(CFL_ISO_READONLY_ROOT) }
        }
        let landlock = IsolationSupport.landlockABI > 0
        if landlock {
            flags |= UInt32(CFL_ISO_LANDLOCK)
            // Abstract unix sockets and signals outside the command's own domain are out of reach.
            if IsolationSupport.landlockABI >= 6 { scopes = UInt32(CFL_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | CFL_LANDLOCK_SCOPE_SIGNAL) }
        }
        guard landlock || filesystem.readOnlyRoot else { return }
        var rules: [(UInt32, String)] = filesystem.readOnly.map { (Self.read | Self.exec, $0) }
        rules += filesystem.readWrite.map { (Self.read | Self.write | Self.exec, $0) }
        // What every command needs to start, and what it was given.
        rules.append((Self.read | Self.exec, executable))
        rules += [("/dev/null", Self.read | Self.write), ("/dev/full", Self.read | Self.write), ("/dev/zero", Self.read),
                  ("/dev/urandom", Self.read), ("/dev/random", Self.read)].map { ($1, $0) }
        if let workingDirectory {
            switch filesystem.workingDirectory {
            case .none: break
            // resolved by the executor: opened without following links, so none swapped in later widens the view
            case .readOnly: rules.append((Self.read | Self.exec | Self.noFollow, workingDirectory))
            case .readWrite: rules.append((Self.read | Self.write | Self.exec | Self.noFollow, workingDirectory))
            }
        }
        if privateTmp {
            rules += [(Self.read | Self.write, "/tmp"), (Self.read | Self.write, "/dev/shm")]
        } else if let home {
            rules.append((Self.read | Self.write, home))
        }
        if isolation.pidNamespace && root { rules.append((Self.read, "/proc")) }
        for (path, access) in grants.sorted(by: { $0.key < $1.key }) {
            switch access {
            case .none: break
            case .readOnly: rules.append((Self.read | Self.exec, path))
            case .readWrite: rules.append((Self.read | Self.write | Self.exec, path))
            }
        }
        self.rules = rules.map { (access: $0.0, path: $0.1) }
    }
}

/// Per-command cgroups (v1 controllers): memory (a limit on resident memory, the peak and OOM
/// kills read back), cpu (a CFS quota) and pids (a cap on the whole tree). Each leased uid has its
/// own leaf under `confine/`, reused command after command; other identities get a leaf per command.
final class Cgroups: @unchecked Sendable {
    static let base = "/sys/fs/cgroup"
    static let controllers = ["memory", "cpu", "pids"]

    static let available: Bool = {
        guard IsolationSupport.isRoot else { return false }
        for controller in controllers {
            let directory = "\(base)/\(controller)/confine"
            if mkdir(directory, 0o755) != 0 && errno != EEXIST { return false }
            if access("\(directory)/cgroup.procs", W_OK) != 0 { return false }
        }
        return true
    }()

    let name: String
    let memory: UInt64?
    let cpu: Double?
    let maxProcesses: Int?
    private var oomKillsBefore = 0

    /// Creates (or reuses) the leaf and writes the limits.
    /// - Throws: `ConfineError(.confinementFailed)` when a cgroup cannot be made or set.
    init(name: String, isolation: Isolation) throws {
        self.name = name
        memory = isolation.memory
        cpu = isolation.cpu
        maxProcesses = isolation.maxProcesses
        for controller in Self.controllers {
            let directory = "\(Self.base)/\(controller)/confine/\(name)"
            if mkdir(directory, 0o755) != 0 && errno != EEXIST {
                throw ConfineError(.confinementFailed, "cannot create the cgroup \(directory): \(ConfineError.errnoText(errno))")
            }
        }
        // memsw (memory + swap) must never be below the memory limit: lift it first, then set
        // the limit, then bring memsw down to it (no swap beyond the limit), where the kernel
        // accounts swap at all.
        try? set("memory", "memory.memsw.limit_in_bytes", "-1")
        try set("memory", "memory.limit_in_bytes", memory.map(String.init) ?? "-1")
        if memory != nil {
            try? set("memory", "memory.memsw.limit_in_bytes", memory.map(String.init) ?? "-1")
            try set("memory", "memory.max_usage_in_bytes", "0")
            oomKillsBefore = oomKills()
        }
        try set("cpu", "cpu.cfs_period_us", "100000")
        try set("cpu", "cpu.cfs_quota_us", cpu.map { String(max(1000, Int($0 * 100_000))) } ?? "-1")
        try set("pids", "pids.max", maxProcesses.map(String.init) ?? "max")
    }

    /// The cgroup.procs files the command joins.
    var procs: [String] {
        Self.controllers.map { "\(Self.base)/\($0)/confine/\(name)/cgroup.procs" }
    }

    /// After the command: the memory peak (bytes) and whether the OOM killer struck.
    func usage() -> (peak: Int?, oomKilled: Bool) {
        guard memory != nil else { return (nil, false) }
        let peak = read("memory", "memory.max_usage_in_bytes").flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return (peak, oomKills() > oomKillsBefore)
    }

    /// Removes a per-command leaf (a uid's leaf stays for its next command).
    func remove() {
        for controller in Self.controllers { rmdir("\(Self.base)/\(controller)/confine/\(name)") }
    }

    private func oomKills() -> Int {
        guard let text = read("memory", "memory.oom_control") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst(9)) ?? 0
        }
        return 0
    }

    private func set(_ controller: String, _ file: String, _ value: String) throws {
        let path = "\(Self.base)/\(controller)/confine/\(name)/\(file)"
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfineError(.confinementFailed, "cannot open \(path): \(ConfineError.errnoText(errno))") }
        defer { close(fd) }
        let written = value.withCString { write(fd, $0, strlen($0)) }
        guard written >= 0 else { throw ConfineError(.confinementFailed, "cannot write '\(value)' to \(path): \(ConfineError.errnoText(errno))") }
    }

    private func read(_ controller: String, _ file: String) -> String? {
        let path = "\(Self.base)/\(controller)/confine/\(name)/\(file)"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self) : nil
    }
}
