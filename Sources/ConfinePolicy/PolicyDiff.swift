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
        if a.timeout != b.timeout {
            let widens = b.timeout.map { t in a.timeout.map { t > $0 } ?? false } ?? true
            note(widens, "timeout", "\(a.timeout.map(Quantity.format) ?? "none") -> \(b.timeout.map(Quantity.format) ?? "none")")
        }
        if a.outputLimit != b.outputLimit {
            let widens = b.outputLimit.map { o in a.outputLimit.map { o > $0 } ?? false } ?? true
            func text(_ v: Int?) -> String { v.map { Quantity.format(bytes: UInt64($0)) } ?? "none" }
            note(widens, "outputLimit", "\(text(a.outputLimit)) -> \(text(b.outputLimit))")
        }
        if a.commands.allow.isEmpty != b.commands.allow.isEmpty {
            note(b.commands.allow.isEmpty, "commands", b.commands.allow.isEmpty ? "allow-list removed: any executable may run" : "allow-list added")
        }
        if !a.commands.allow.isEmpty && !b.commands.allow.isEmpty {
            for entry in b.commands.allow where !a.commands.allow.contains(entry) { note(true, "commands", "allows \(entry)") }
            for entry in a.commands.allow where !b.commands.allow.contains(entry) { note(false, "commands", "no longer allows \(entry)") }
        }
        for entry in a.commands.deny where !b.commands.deny.contains(entry) { note(true, "commands", "no longer denies \(entry)") }
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
            note(false, "workingDirectory", "\(a.workingDirectory ?? "the caller's") -> \(b.workingDirectory ?? "the caller's")")
        }
        self.changes = changes.sorted { ($0.widens ? 0 : 1, $0.area, $0.text) < ($1.widens ? 0 : 1, $1.area, $1.text) }
    }
}
