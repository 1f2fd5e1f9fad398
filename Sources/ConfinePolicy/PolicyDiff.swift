/// What one policy permits that another does not: the review tool for a policy change.
public struct PolicyDiff: Sendable {
    public struct Change: Sendable, Hashable, CustomStringConvertible {
        /// `true` when B permits more than A here; `false` when it permits less.
        public var widens: Bool
        /// "syscalls", "rlimits", "commands", ...
        public var area: String
        public var text: String
        public var description: String { "\(widens ? "+" : "-") \(area): \(text)" }
    }

    public var changes: [Change]
    /// B permits something A does not.
    public var widens: Bool { changes.contains { $0.widens } }

    /// How far a profile lets a syscall through.
    enum Reach: Int, Comparable {
        case refused = 0, conditional = 1, always = 2
        static func < (a: Reach, b: Reach) -> Bool { a.rawValue < b.rawValue }
        var text: String { ["refused", "allowed for some arguments", "allowed"][rawValue] }
    }

    static func reach(_ plan: FilterPlan, _ name: String) -> Reach {
        func lets(_ action: SeccompAction) -> Bool { action == .allow || action == .log }
        let entry = plan.entries[name]
        let base = entry?.base?.action ?? plan.defaultAction
        let conditionalAllow = entry?.conditional.contains { lets($0.action) } ?? false
        let conditionalRefuse = entry?.conditional.contains { !lets($0.action) } ?? false
        if lets(base) { return conditionalRefuse ? .conditional : .always }
        return conditionalAllow ? .conditional : .refused
    }

    /// Compares `a` (before) with `b` (after).
    public init(from a: Policy, to b: Policy) {
        var changes: [Change] = []
        func note(_ widens: Bool, _ area: String, _ text: String) { changes.append(Change(widens: widens, area: area, text: text)) }

        let planA = FilterPlan(a.seccomp), planB = FilterPlan(b.seccomp)
        if a.seccomp.defaultAction != b.seccomp.defaultAction {
            let widens = b.seccomp.defaultAction == .allow || b.seccomp.defaultAction == .log
            note(widens, "seccomp", "defaultAction \(a.seccomp.defaultAction) -> \(b.seccomp.defaultAction)")
        }
        let archA = Set(a.seccomp.architectures.map(\.rawValue)), archB = Set(b.seccomp.architectures.map(\.rawValue))
        for arch in archB.subtracting(archA).sorted() { note(true, "seccomp", "architecture \(arch) reachable") }
        for arch in archA.subtracting(archB).sorted() { note(false, "seccomp", "architecture \(arch) no longer reachable") }
        for name in Set(Syscalls.names.values).sorted() {
            let before = Self.reach(planA, name), after = Self.reach(planB, name)
            if after > before {
                note(true, "syscalls", "\(name): \(before.text) -> \(after.text)")
            } else if after < before {
                note(false, "syscalls", "\(name): \(before.text) -> \(after.text)")
            } else if after == .conditional {
                let argsA = planA.entries[name]?.conditional.map(\.rule.args) ?? []
                let argsB = planB.entries[name]?.conditional.map(\.rule.args) ?? []
                if argsA != argsB { note(true, "syscalls", "\(name): its argument conditions changed (review them)") }
            }
        }

        for name in ResourceLimits.names {
            let before = a.rlimits[name], after = b.rlimits[name]
            guard before != after else { continue }
            func size(_ v: ResourceLimits.Value?) -> UInt64 {
                switch v { case .limited(let n)?: n; default: .max }
            }
            note(size(after) > size(before), "rlimits", "\(name) \(before?.description ?? "unset") -> \(after?.description ?? "unset")")
        }
        Self.cap(a.timeout, b.timeout, "timeout", note: note) { Quantity.format($0) }
        Self.cap(a.outputLimit, b.outputLimit, "outputLimit", note: note) { Quantity.format(bytes: UInt64($0)) }
        if a.commands.allow.isEmpty != b.commands.allow.isEmpty {
            note(b.commands.allow.isEmpty, "commands", b.commands.allow.isEmpty ? "allow-list removed: any executable may run" : "allow-list added")
        }
        if !a.commands.allow.isEmpty && !b.commands.allow.isEmpty {
            for entry in b.commands.allow where !a.commands.allow.contains(entry) { note(true, "commands", "allows \(entry)") }
            for entry in a.commands.allow where !b.commands.allow.contains(entry) { note(false, "commands", "no longer allows \(entry)") }
        }
        // A deny entry B drops widens only if B still admits that program: an allow-list that
        // admits none of a deny-list's programs keeps them out as well.
        for entry in a.commands.deny where !b.commands.deny.contains(entry) && Self.admits(b.commands, entry) {
            note(true, "commands", "no longer denies \(entry)")
        }
        for entry in b.commands.deny where !a.commands.deny.contains(entry) { note(false, "commands", "denies \(entry)") }
        for key in Set(a.environment.keys).union(b.environment.keys).sorted() where a.environment[key] != b.environment[key] {
            switch (a.environment[key], b.environment[key]) {
            case (nil, let v?): note(true, "environment", "adds \(key)=\(v)")
            case (_?, nil): note(false, "environment", "drops \(key)")
            default: note(true, "environment", "changes \(key) to \(b.environment[key] ?? "")")
            }
        }
        if a.user != b.user {
            let widens: Bool
            switch b.user {
            case .inherit, .ids(uid: 0, _): widens = true
            default: widens = false
            }
            note(widens, "user", "\(a.user) -> \(b.user)")
        }
        if a.workingDirectory != b.workingDirectory {
            // The working directory joins the filesystem view: a new one may show more.
            note(b.workingDirectory != nil, "workingDirectory", "\(a.workingDirectory ?? "the caller's") -> \(b.workingDirectory ?? "the caller's")")
        }
        Self.compare(a.isolation, b.isolation, note: note)
        self.changes = changes.sorted { ($0.widens ? 0 : 1, $0.area, $0.text) < ($1.widens ? 0 : 1, $1.area, $1.text) }
    }

    /// A limit that B raises or lifts (nil: none) widens; one it lowers or adds narrows.
    static func cap<T: Comparable>(_ before: T?, _ after: T?, _ area: String, note: (Bool, String, String) -> Void, _ format: (T) -> String) {
        guard before != after else { return }
        let widens = after.map { x in before.map { x > $0 } ?? false } ?? true
        note(widens, area, "\(before.map(format) ?? "none") -> \(after.map(format) ?? "none")")
    }

    /// Whether a command rule admits a deny-list entry (a path or a bare name): an empty
    /// allow-list admits everything; otherwise an allow entry of the same path or name does.
    static func admits(_ rule: CommandRule, _ entry: String) -> Bool {
        if rule.allow.isEmpty { return true }
        let name = PolicyAuditor.baseName(of: entry)
        return rule.allow.contains { $0 == entry || PolicyAuditor.baseName(of: $0) == name }
    }

    /// Every part of `isolation`: a part B drops or loosens widens; one it adds or tightens narrows.
    static func compare(_ a: Isolation, _ b: Isolation, note: (Bool, String, String) -> Void) {
        func flag(_ before: Bool, _ after: Bool, _ area: String, on: String, off: String) {
            if before && !after { note(true, area, off) } else if !before && after { note(false, area, on) }
        }
        func cap<T: Comparable>(_ before: T?, _ after: T?, _ area: String, _ format: (T) -> String) {
            Self.cap(before, after, area, note: note, format)
        }
        flag(a.required, b.required, "isolation", on: "required: a part the machine lacks is an error",
             off: "no longer required: parts the machine lacks are skipped with a warning")
        if a.network != b.network {
            note(b.network == .host, "isolation.network", "\(a.network.rawValue) -> \(b.network.rawValue)"
                 + (b.network == .host ? " (the host's interfaces and abstract sockets are reachable)" : ""))
        }
        flag(a.pidNamespace, b.pidNamespace, "isolation.processes", on: "PID namespace added",
             off: "PID namespace removed: the command sees and may signal the host's processes")
        flag(a.privateIPC, b.privateIPC, "isolation.ipc", on: "private IPC namespace added",
             off: "private IPC namespace removed: the host's SysV IPC and message queues are reachable")
        cap(a.maxProcesses, b.maxProcesses, "isolation.processes.max") { String($0) }
        cap(a.memory, b.memory, "isolation.memory") { Quantity.format(bytes: $0) }
        cap(a.cpu, b.cpu, "isolation.cpu") { "\($0) cores" }
        switch (a.filesystem, b.filesystem) {
        case (nil, nil): break
        case (nil, _?): note(false, "isolation.filesystem", "filesystem view added")
        case (_?, nil): note(true, "isolation.filesystem", "filesystem view removed: everything the command's uid can reach is visible")
        case (let fa?, let fb?): compare(fa, fb, note: note)
        }
    }

    static func compare(_ a: Isolation.Filesystem, _ b: Isolation.Filesystem, note: (Bool, String, String) -> Void) {
        let area = "isolation.filesystem"
        func covered(_ path: String, by paths: [String]) -> Bool {
            paths.contains { WorkingDirectoryRules.isWithin(path, $0) }
        }
        for path in b.readWrite where !covered(path, by: a.readWrite) { note(true, area, "\(path) writable") }
        for path in b.readOnly where !covered(path, by: a.readOnly + a.readWrite) { note(true, area, "\(path) visible") }
        for path in a.readWrite where !covered(path, by: b.readWrite) {
            note(false, area, covered(path, by: b.readOnly) ? "\(path) read-only" : "\(path) no longer writable")
        }
        for path in a.readOnly where !covered(path, by: b.readOnly + b.readWrite) { note(false, area, "\(path) no longer visible") }
        let rank: [Isolation.Access: Int] = [.none: 0, .readOnly: 1, .readWrite: 2]
        if a.workingDirectory != b.workingDirectory {
            note(rank[b.workingDirectory, default: 2] > rank[a.workingDirectory, default: 2], area,
                 "workingDirectory \(a.workingDirectory.rawValue) -> \(b.workingDirectory.rawValue)")
        }
        if a.grants != b.grants {
            note(rank[b.grants, default: 2] > rank[a.grants, default: 2], area, "grants \(a.grants.rawValue) -> \(b.grants.rawValue)")
        }
        if a.workingDirectories != b.workingDirectories {
            let narrower = WorkingDirectoryRules.isNoWider(b.workingDirectories, than: a.workingDirectories)
            note(!narrower, area, "workingDirectories [\(a.workingDirectories.joined(separator: ", "))] -> [\(b.workingDirectories.joined(separator: ", "))]"
                 + (narrower ? "" : " (may admit more working directories)"))
        }
        if a.readOnlyRoot != b.readOnlyRoot {
            note(!b.readOnlyRoot, area, b.readOnlyRoot ? "read-only root added" : "read-only root removed")
        }
        if a.writableExecutable != b.writableExecutable {
            note(b.writableExecutable, area, b.writableExecutable ? "files written may now be executed (writableExecutable true)"
                                                                    : "files written may no longer be executed (writableExecutable false)")
        }
        if a.tmp != b.tmp {
            // No private /tmp: the command's HOME/TMPDIR is a host folder again; a larger one holds more memory.
            let widens = b.tmp.map { x in a.tmp.map { x > $0 } ?? false } ?? true
            note(widens, area, "tmp \(a.tmp.map { Quantity.format(bytes: $0) } ?? "none (host /tmp not shared)") -> \(b.tmp.map { Quantity.format(bytes: $0) } ?? "none")")
        }
    }
}
