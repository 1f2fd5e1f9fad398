/// What a profile decides for each syscall, after groups are expanded and rules ordered:
/// the single model that the compiler, `confine check` and the audit share.
///
/// Rules apply in order. For each syscall the last rule without argument comparisons sets
/// its action (its *base*); rules with comparisons whose action differs from the base are
/// *exceptions* that take precedence where their comparisons hold. A syscall no rule names
/// gets the default action.
public struct FilterPlan: Sendable {
    public struct Entry: Sendable {
        /// The last unconditional rule naming the syscall.
        public var base: (action: SeccompAction, origin: String?)?
        /// Conditional rules, in order.
        public var conditional: [(rule: SyscallRule, action: SeccompAction)] = []
    }

    public var defaultAction: SeccompAction
    public var architectures: [Architecture]
    /// Per syscall name.
    public var entries: [String: Entry]

    public init(_ profile: SeccompProfile) {
        defaultAction = profile.defaultAction
        architectures = profile.architectures
        // room for every syscall a profile may name (the shipped default names most): no
        // rehashing while it fills
        entries = Dictionary(minimumCapacity: 512)
        func apply(_ rule: SyscallRule, to entry: inout Entry) {
            if rule.args.isEmpty {
                entry.base = (rule.action, rule.origin)
                // A later unconditional rule overrides earlier conditional ones of the same action.
                entry.conditional.removeAll { $0.action == rule.action }
            } else {
                entry.conditional.append((rule, rule.action))
            }
        }
        for rule in profile.syscalls {
            for name in Self.expand(rule.names) {
                apply(rule, to: &entries[name, default: Entry()])
            }
        }
    }

    /// Syscall names of a rule's `names`, groups expanded, unknown-to-this-kernel names dropped.
    public static func expand(_ names: [String]) -> [String] {
        var result: [String] = []
        for name in names {
            if let members = SyscallGroups.syscalls(in: name) {
                result += members.filter { Syscalls.number(of: $0) != nil }
            } else {
                result.append(name)
            }
        }
        return result
    }

    /// The action the profile takes for a call, and the rule that decided it.
    public func decide(_ name: String, arguments: [UInt64] = []) -> (action: SeccompAction, origin: String?) {
        guard let entry = entries[name] else { return (defaultAction, nil) }
        let args = arguments + Array(repeating: 0, count: max(0, 6 - arguments.count))
        let base = entry.base?.action ?? defaultAction
        // Exceptions first: conditional rules whose action differs from the base.
        for (rule, action) in entry.conditional where action != base {
            if rule.args.allSatisfy({ $0.matches(args[$0.index]) }) { return (action, rule.origin) }
        }
        if let b = entry.base { return (b.action, b.origin) }
        return (defaultAction, nil)
    }

    /// The syscalls this profile allows outright or under some condition.
    public var allowedNames: [String] {
        entries.filter { _, entry in
            entry.base?.action == .allow || entry.conditional.contains { $0.action == .allow }
        }.keys.sorted()
    }
}
