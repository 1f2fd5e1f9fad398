import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Per-command cgroups: memory (a limit on resident memory, the peak and OOM kills read back),
/// cpu (a quota) and pids (a cap on the whole tree). Each controller is used where the host has
/// it: a cgroup v1 hierarchy at /sys/fs/cgroup/NAME, else the cgroup v2 hierarchy (where current
/// distributions have every one), in Confine's own subtree `confine/` with the controllers
/// enabled in `cgroup.subtree_control`. A leased uid's leaf is reused command after command,
/// except where memory is on v2 (its `memory.peak` cannot be reset for another reader: a leaf
/// per command there); other identities get a leaf per command.
final class Cgroups: @unchecked Sendable {
    static let base = "/sys/fs/cgroup"
    static let controllers = ["memory", "cpu", "pids"]

    /// Where a controller is.
    enum Hierarchy: Equatable, Sendable { case v1, v2 }

    /// The cgroup v2 hierarchy (mount point and controllers), when the host has one.
    static let v2 = HostReport.cgroup2Controllers()
    static var v2Root: String? { v2?.path }

    /// Where each controller is used, or nil when one of them is nowhere usable (not root, or
    /// the host has it in neither hierarchy).
    static let placement: [String: Hierarchy]? = {
        guard let found = locate(making: true) else { return nil }
        let onV2 = controllers.filter { found[$0] == .v2 }
        if let root = v2?.path, !onV2.isEmpty {
            // Confine's subtree, with the controllers handed down to its leaves (a cgroup with
            // processes of its own may not: `confine/` never holds any).
            let subtree = "\(root)/confine"
            if mkdir(subtree, 0o755) != 0 && errno != EEXIST { return nil }
            let enable = onV2.map { "+" + $0 }.joined(separator: " ")
            for folder in [root, subtree] where !writeText(enable, to: "\(folder)/cgroup.subtree_control") { return nil }
        }
        return found
    }()

    /// Set by a caller that must leave the host as it found it (`confine doctor`): from then on
    /// this process only looks where the controllers are (`lookedUp`), making no folder and
    /// enabling no controller.
    nonisolated(unsafe) static var lookOnly = false

    /// Where each controller would be used, found without changing anything.
    static let lookedUp: [String: Hierarchy]? = locate(making: false)

    /// Each controller's hierarchy: a v1 one at /sys/fs/cgroup/NAME (with `making`, Confine's
    /// `confine/` folder made there and checked writable; without, the hierarchy root may
    /// write), else the v2 hierarchy when its root offers the controller; nil when one is
    /// nowhere usable or this process is not root.
    private static func locate(making: Bool) -> [String: Hierarchy]? {
        guard IsolationSupport.isRoot else { return nil }
        var found: [String: Hierarchy] = [:]
        for controller in controllers {
            let v1 = "\(base)/\(controller)"
            if access("\(v1)/cgroup.procs", F_OK) == 0, v1 != v2?.path {
                if making {
                    let directory = "\(v1)/confine"
                    if mkdir(directory, 0o755) != 0 && errno != EEXIST { return nil }
                    if access("\(directory)/cgroup.procs", W_OK) != 0 { return nil }
                } else if access(v1, W_OK) != 0 {
                    return nil
                }
                found[controller] = .v1
            } else if let v2, v2.controllers.contains(controller) {
                found[controller] = .v2
            } else {
                return nil
            }
        }
        return found
    }

    static var available: Bool { lookOnly ? lookedUp != nil : placement != nil }

    /// Whether the memory controller is on cgroup v2 (a leaf per command, see above).
    static var memoryOnV2: Bool { placement?["memory"] == .v2 }

    /// Writes text to an existing file; false on failure.
    static func writeText(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return text.withCString { Glibc.write(fd, $0, strlen($0)) } >= 0
    }

    /// Starts, on a thread of its own, the slow part of the first move of a process between
    /// cgroups, so that the command's own move (its launcher writes to `cgroup.procs`) is quick.
    ///
    /// Moving a process takes the kernel's cgroup write lock, and the first taker after a quiet
    /// spell waits for an RCU grace period (measured here: 11–23 ms for the first write to any
    /// `cgroup.procs`, then 0.04 ms for the next ones within the following grace period). A
    /// program that runs one command (`confine run`) pays it in full; moving itself to the cgroup
    /// it is already in (a no-op move that still takes the lock) while it reads its policy and
    /// starts the launcher takes that wait off the command's path. Nothing happens without root
    /// or the cgroup v1 pids controller.
    static func prepareMove() {
        // cgroups(7): one line per hierarchy, ID:CONTROLLERS:PATH
        guard IsolationSupport.isRoot, placement?["pids"] == .v1,
              let text = SystemCalls.contents(of: "/proc/self/cgroup") else { return }
        guard let line = text.split(separator: 0x0A).first(where: { $0.split(separator: 0x3A).dropFirst().first?.elementsEqual("pids".utf8) == true }),
              let last = line.split(separator: 0x3A, maxSplits: 2).last else { return }
        let path = String(decoding: last, as: UTF8.self)
        let procs = "\(base)/pids\(path == "/" ? "" : path)/cgroup.procs"
        let pid = "\(getpid())"
        startThread {
            let fd = open(procs, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { return }
            _ = pid.withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
    }

    private static let leafCounter = LeafCounter()
    /// A fresh number for a per-command leaf's name.
    static func nextLeaf() -> Int { leafCounter.next() }

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
        let limits = Limits(memory: memory, cpu: cpu, maxProcesses: maxProcesses)
        var made = false
        for directory in Set(Self.controllers.map { Self.folder(of: $0, leaf: name) }) {
            if mkdir(directory, 0o755) == 0 {
                made = true
            } else if errno != EEXIST {
                throw ConfineError(.confinementFailed, "cannot create the cgroup \(directory): \(ConfineError.errnoText(errno))")
            }
        }
        // A uid's leaf serves command after command, mostly under one policy: limits this
        // process wrote there last and that still stand are not written again (a CFS quota
        // write walks the whole cpu hierarchy under a global lock). A leaf made just now, or
        // one whose last writing failed part-way, gets every limit.
        if made || Self.written.limits(of: name) != limits {
            Self.written.set(nil, for: name)
            // memsw (memory + swap) must never be below the memory limit: lift it first, then
            // set the limit, then bring memsw down to it (no swap beyond the limit), where the
            // kernel accounts swap at all.
            let quota = cpu.map { String(max(1000, Int($0 * 100_000))) }
            if Self.placement?["memory"] == .v2 {
                try set("memory", "memory.max", memory.map(String.init) ?? "max")
                // no swap beyond the limit, where the kernel accounts swap at all
                try? set("memory", "memory.swap.max", memory == nil ? "max" : "0")
            } else {
                try? set("memory", "memory.memsw.limit_in_bytes", "-1")
                try set("memory", "memory.limit_in_bytes", memory.map(String.init) ?? "-1")
                if memory != nil { try? set("memory", "memory.memsw.limit_in_bytes", memory.map(String.init) ?? "-1") }
            }
            if Self.placement?["cpu"] == .v2 {
                try set("cpu", "cpu.max", "\(quota ?? "max") 100000")
            } else {
                try set("cpu", "cpu.cfs_period_us", "100000")
                try set("cpu", "cpu.cfs_quota_us", quota ?? "-1")
            }
            try set("pids", "pids.max", maxProcesses.map(String.init) ?? "max")
            Self.written.set(limits, for: name)
        }
        if memory != nil {
            // v1 resets the peak; a v2 leaf is the command's own (made for it)
            if Self.placement?["memory"] != .v2 { try set("memory", "memory.max_usage_in_bytes", "0") }
            oomKillsBefore = oomKills()
        }
    }

    /// The leaf's folder for a controller: its v1 hierarchy's, or the one v2 folder.
    static func folder(of controller: String, leaf: String) -> String {
        if placement?[controller] == .v2, let root = v2Root { return "\(root)/confine/\(leaf)" }
        return "\(base)/\(controller)/confine/\(leaf)"
    }

    /// The limits a leaf holds.
    struct Limits: Equatable {
        var memory: UInt64?
        var cpu: Double?
        var maxProcesses: Int?
    }

    /// What this process last wrote to each leaf.
    private static let written = WrittenLimits()

    /// The cgroup.procs files the command joins.
    var procs: [String] {
        Array(Set(Self.controllers.map { Self.folder(of: $0, leaf: name) })).sorted().map { "\($0)/cgroup.procs" }
    }

    /// After the command: the memory peak (bytes) and whether the OOM killer struck.
    func usage() -> (peak: Int?, oomKilled: Bool) {
        guard memory != nil else { return (nil, false) }
        let peak = read("memory", Self.placement?["memory"] == .v2 ? "memory.peak" : "memory.max_usage_in_bytes")
            .flatMap { Int($0.split(whereSeparator: \.isWhitespace).first ?? "") }
        return (peak, oomKills() > oomKillsBefore)
    }

    /// Removes a per-command leaf (a uid's leaf stays for its next command).
    func remove() {
        Self.written.set(nil, for: name)
        for directory in Set(Self.controllers.map { Self.folder(of: $0, leaf: name) }) { rmdir(directory) }
    }

    private func oomKills() -> Int {
        // v1: memory.oom_control; v2: memory.events (both have an "oom_kill N" line)
        guard let text = read("memory", Self.placement?["memory"] == .v2 ? "memory.events" : "memory.oom_control") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst(9)) ?? 0
        }
        return 0
    }

    private func set(_ controller: String, _ file: String, _ value: String) throws {
        let path = "\(Self.folder(of: controller, leaf: name))/\(file)"
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfineError(.confinementFailed, "cannot open \(path): \(ConfineError.errnoText(errno))") }
        defer { close(fd) }
        let written = value.withCString { write(fd, $0, strlen($0)) }
        guard written >= 0 else { throw ConfineError(.confinementFailed, "cannot write '\(value)' to \(path): \(ConfineError.errnoText(errno))") }
    }

    private func read(_ controller: String, _ file: String) -> String? {
        guard let bytes = SystemCalls.contents(of: "\(Self.folder(of: controller, leaf: name))/\(file)"), !bytes.isEmpty else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The limits this process last wrote to each cgroup leaf, by leaf name.
final class WrittenLimits: @unchecked Sendable {
    private let lock = Lock()
    private var byLeaf: [String: Cgroups.Limits] = [:]
    func limits(of leaf: String) -> Cgroups.Limits? {
        lock.lock()
        defer { lock.unlock() }
        return byLeaf[leaf]
    }
    func set(_ limits: Cgroups.Limits?, for leaf: String) {
        lock.lock()
        byLeaf[leaf] = limits
        lock.unlock()
    }
}

/// Numbers per-command cgroup leaves.
final class LeafCounter: @unchecked Sendable {
    private let lock = Lock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
