import CConfineProtocol
import CSeccomp
#if canImport(Glibc)
import Glibc
#endif

/// A seccomp program ready for the launcher: classic BPF, `struct sock_filter` bytes.
public struct CompiledFilter: Sendable, Hashable {
    public var bytes: [UInt8]
    /// How calls the policy refuses by default are handled.
    public var mode: FilterMode = .enforce
    /// In `.report` mode, the errno the supervisor answers refused calls with.
    public var notifyErrno: UInt16 = 1
    public var instructionCount: Int { bytes.count / 8 }

    /// A program as `compile` made it (`struct sock_filter` bytes), e.g. read back from a cache.
    public init(bytes: [UInt8], mode: FilterMode = .enforce, notifyErrno: UInt16 = 1) {
        self.bytes = bytes
        self.mode = mode
        self.notifyErrno = notifyErrno
    }
}

/// What the filter does with a call the policy refuses by its default action.
public enum FilterMode: Sendable, Hashable {
    /// The kernel refuses it (the default action as written).
    case enforce
    /// The supervisor is notified (SECCOMP_RET_USER_NOTIF), refuses it with the same errno,
    /// and records which call it was: the violation report. Only for an ERRNO default.
    case report
    /// The supervisor is notified, records the call and lets it proceed: `policy learn`.
    case learn
}

/// The fd the child hands the seccomp listener over (CFL_NOTIFY_FD in the launcher).
let notifyTransferFD = UInt64(CFL_NOTIFY_FD)

/// A profile that libseccomp cannot express, or that it refused.
public struct CompileError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Compiles a policy's seccomp profile to BPF with libseccomp, once, in the parent —
/// where errors can still be reported (nsjail's `preparePolicy`).
public enum PolicyCompiler {
    /// The largest number of libseccomp rules one syscall's exceptions may expand into.
    static let maximumExpandedRules = 512

    /// Compiles `profile` to BPF: native architecture (plus those listed), other architectures
    /// and x32 calls killed, the rules of `FilterPlan` in force.
    /// - Throws: `CompileError` when a rule combination cannot be expressed.
    public static func compile(_ profile: SeccompProfile, mode requested: FilterMode = .enforce) throws -> CompiledFilter {
        var mode = requested
        var profile = profile
        var notifyErrno: UInt16 = 1
        switch (mode, profile.defaultAction) {
        case (.report, .errno(let e)): notifyErrno = e
        case (.report, _): mode = .enforce  // a kill or allow default has nothing to answer
        default: break
        }
        // Exiting is never a risk, and the launcher's child must be able to exit when execve
        // fails after the filter is in place.
        let plain = FilterPlan(profile)
        let exits = ["exit_group", "exit"].filter { plain.decide($0).action == profile.defaultAction }
        if !exits.isEmpty { profile.syscalls.append(SyscallRule(names: exits, action: .allow)) }
        if mode != .enforce {
            // Between installing the filter and execve the child calls sendmsg (to hand over the
            // listener) and execve; neither may wait for the supervisor, which the vfork-style
            // clone keeps asleep until execve.
            let before = FilterPlan(profile)
            profile.syscalls.append(SyscallRule(names: ["sendmsg"], action: .allow,
                                                args: [ArgumentComparison(index: 0, value: notifyTransferFD, op: .equal)]))
            if before.decide("execve").action == profile.defaultAction {
                profile.syscalls.append(SyscallRule(names: ["execve"], action: mode == .learn ? .allow : profile.defaultAction))
            }
        }
        let plan = FilterPlan(profile)
        let defaultAction = mode == .enforce ? token(plan.defaultAction) : CSeccomp_actNotify()
        // Whether a rule's action is what the compiled default does anyway (then libseccomp
        // refuses the rule). In the notify modes only the implicit default is notified;
        // explicit rules keep their own action.
        func isDefault(_ action: SeccompAction) -> Bool { mode == .enforce && action == plan.defaultAction }
        guard let ctx = seccomp_init(defaultAction) else { throw CompileError(message: "seccomp_init failed") }
        defer { seccomp_release(ctx) }
        try check(CSeccomp_setBadArchAction(ctx, CSeccomp_actKillProcess()), "setting the bad-architecture action")
        try check(CSeccomp_setNoNewPrivs(ctx, 0), "clearing the no-new-privs attribute")
        // A binary search over syscall numbers rather than a linear chain: fewer instructions
        // per call, and a faster attach (the kernel evaluates the filter per syscall number).
        try check(CSeccomp_optimizeBinaryTree(ctx), "choosing the binary-tree layout")
        for arch in plan.architectures where arch != .native && CSeccomp_auditArch(archToken(arch)) != CSeccomp_auditArch(CSeccomp_archNative()) {
            let rc = seccomp_arch_add(ctx, archToken(arch))
            if rc != 0 && rc != -EEXIST { try check(rc, "adding architecture \(arch.rawValue)") }
        }

        for rule in try expandedRules(plan, isDefault: isDefault) {
            guard let nr = Syscalls.number(of: rule.name) else { continue }
            try add(ctx, rule.action, nr, rule.args, rule.name)
        }

        var raw: UnsafeMutablePointer<UInt8>?
        var length = 0
        try check(CSeccomp_exportBPF(ctx, &raw, &length), "exporting the BPF program")
        guard let raw else { throw CompileError(message: "libseccomp exported no program") }
        defer { free(raw) }
        let bytes = Array(UnsafeBufferPointer(start: raw, count: length))
        guard bytes.count / 8 <= 4096 else {
            throw CompileError(message: "the filter has \(bytes.count / 8) instructions; the kernel accepts at most 4096")
        }
        return CompiledFilter(bytes: bytes, mode: mode, notifyErrno: notifyErrno)
    }

    /// Bumped whenever `compile` would turn the same profile into a different program, so that
    /// filters compiled (and kept) by an earlier Confine are not reused.
    static let formatVersion = 1

    /// What determines the program `compile(profile, mode:)` makes, as text: Confine's version,
    /// the compiler's format, libseccomp's version, the machine, the mode and every part of the
    /// profile that reaches the filter (not the rules' origins). Equal keys, equal programs: a
    /// compiled-filter cache is keyed by it (and compares it whole).
    public static func cacheKey(_ profile: SeccompProfile, mode: FilterMode) -> String {
        var machine = utsname()
        uname(&machine)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let library = seccomp_version().map { "\($0.pointee.major).\($0.pointee.minor).\($0.pointee.micro)" } ?? "?"
        var key = "confine \(ConfineVersion.string) format \(formatVersion) libseccomp \(library)"
        key += " \(field(machine.machine)) \(field(machine.release))\n"
        // each part by a description of its own: interpolating a type that has none (the
        // mode) would describe it by reflection, a dynamic cast against every conformance
        let modeName = switch mode { case .enforce: "enforce"; case .report: "report"; case .learn: "learn" }
        key += "mode \(modeName) default \(profile.defaultAction.description) arch \(profile.architectures.map(\.rawValue).joined(separator: ","))\n"
        for rule in profile.syscalls {
            key += "\(rule.names.joined(separator: ",")) \(rule.action.description)"
            for a in rule.args { key += " \(a.index)\(a.op.rawValue)\(a.value)/\(a.valueTwo)" }
            key += "\n"
        }
        return key
    }

    /// The libseccomp action token of an action.
    static func token(_ action: SeccompAction) -> UInt32 {
        switch action {
        case .allow: CSeccomp_actAllow()
        case .errno(let e): CSeccomp_actErrno(e)
        case .killProcess: CSeccomp_actKillProcess()
        case .killThread: CSeccomp_actKillThread()
        case .trap: CSeccomp_actTrap()
        case .log: CSeccomp_actLog()
        }
    }

    static func archToken(_ arch: Architecture) -> UInt32 {
        switch arch {
        case .native: CSeccomp_archNative()
        case .x86_64: CSeccomp_archX86_64()
        case .x86: CSeccomp_archX86()
        case .x32: CSeccomp_archX32()
        case .aarch64: CSeccomp_archAArch64()
        }
    }

    /// One rule as libseccomp takes it: a call, an action, at most one comparison per argument.
    public struct ExpandedRule: Sendable {
        public var name: String
        public var action: SeccompAction
        public var args: [ArgumentComparison]
    }

    /// The plan as rules that libseccomp (and so runc, crun, Docker) applies as the plan means
    /// them, whatever its own precedence among overlapping rules: each call's unconditional
    /// action under the complement of its exceptions, each exception where no earlier one with
    /// another action holds. Rules whose action is the default are left out (`isDefault`;
    /// libseccomp refuses them). Calls this machine does not know are kept by name.
    /// - Throws: `CompileError` when exceptions expand beyond what a filter can hold.
    public static func expandedRules(_ plan: FilterPlan, isDefault: (SeccompAction) -> Bool) throws -> [ExpandedRule] {
        var rules: [ExpandedRule] = []
        for name in plan.entries.keys.sorted() {
            guard let entry = plan.entries[name] else { continue }
            let base = entry.base?.action ?? plan.defaultAction
            let exceptions = entry.conditional.filter { $0.action != base }.map(\.rule)
            if entry.base != nil, !isDefault(base) {
                // The base holds wherever no exception does: add it under the complement of the exceptions.
                for conjunction in try complement(of: exceptions, syscall: name) {
                    rules.append(ExpandedRule(name: name, action: base, args: conjunction))
                }
            }
            // Exceptions apply in rule order: each holds only where no earlier exception with
            // another action does (libseccomp alone would pick among overlapping rules itself).
            for (k, rule) in exceptions.enumerated() where !isDefault(rule.action) {
                let earlier = exceptions[..<k].filter { $0.action != rule.action }
                for guardConjunction in try complement(of: Array(earlier), syscall: name) {
                    var conjunction: [ArgumentComparison]? = guardConjunction
                    for atom in rule.args { conjunction = try conjunction.flatMap { try merge($0, atom, syscall: name) } }
                    if let conjunction { rules.append(ExpandedRule(name: name, action: rule.action, args: conjunction)) }
                }
            }
        }
        return rules
    }

    /// Rewrites "not (any exception)" as a disjunction of conjunctions that libseccomp can
    /// express: each returned array is one rule's comparisons (at most one per argument).
    static func complement(of exceptions: [SyscallRule], syscall: String) throws -> [[ArgumentComparison]] {
        var conjunctions: [[ArgumentComparison]] = [[]]
        for exception in exceptions {
            // not (a and b and ...) = (not a) or (not b) or ...
            let atoms = exception.args.flatMap(negate)
            var next: [[ArgumentComparison]] = []
            for conjunction in conjunctions {
                for atom in atoms {
                    if let merged = try merge(conjunction, atom, syscall: syscall) { next.append(merged) }
                }
            }
            conjunctions = next
            guard conjunctions.count <= maximumExpandedRules else {
                throw CompileError(message: "the exceptions to \(syscall) expand to more than \(maximumExpandedRules) rules; simplify its argument conditions")
            }
        }
        return conjunctions
    }

    /// The comparisons whose disjunction is the negation of `c` (empty: `c` never holds).
    static func negate(_ c: ArgumentComparison) -> [ArgumentComparison] {
        switch c.op {
        case .equal: return [.init(index: c.index, value: c.value, op: .notEqual)]
        case .notEqual: return [.init(index: c.index, value: c.value, op: .equal)]
        case .lessThan: return [.init(index: c.index, value: c.value, op: .greaterOrEqual)]
        case .lessOrEqual: return [.init(index: c.index, value: c.value, op: .greaterThan)]
        case .greaterThan: return [.init(index: c.index, value: c.value, op: .lessOrEqual)]
        case .greaterOrEqual: return [.init(index: c.index, value: c.value, op: .lessThan)]
        case .maskedEqual:
            let mask = c.value, wanted = c.valueTwo
            // Never holds when the wanted value has bits outside the mask: its negation always does.
            if wanted & ~mask != 0 { return [.init(index: c.index, value: 0, valueTwo: 0, op: .maskedEqual)] }
            // Some masked bit differs from the wanted value.
            return (0..<64).compactMap { bit -> ArgumentComparison? in
                let b = UInt64(1) << UInt64(bit)
                guard mask & b != 0 else { return nil }
                return .init(index: c.index, value: b, valueTwo: ~wanted & b, op: .maskedEqual)
            }
        }
    }

    /// Adds `atom` to a conjunction, combining masked comparisons of the same argument;
    /// `nil` when the result can never hold.
    /// - Throws: `CompileError` when two different comparisons of one argument would have to
    ///   hold at once: libseccomp compares each argument once per rule, and dropping the
    ///   branch could make the call take the default action where the policy says otherwise.
    static func merge(_ conjunction: [ArgumentComparison], _ atom: ArgumentComparison, syscall: String) throws -> [ArgumentComparison]? {
        guard let i = conjunction.firstIndex(where: { $0.index == atom.index }) else { return conjunction + [atom] }
        let other = conjunction[i]
        if other == atom { return conjunction }
        guard other.op == .maskedEqual, atom.op == .maskedEqual else {
            if other.op == .equal && atom.op == .notEqual { return other.value == atom.value ? nil : conjunction }
            if other.op == .notEqual && atom.op == .equal {
                if other.value == atom.value { return nil }
                var merged = conjunction
                merged[i] = atom
                return merged
            }
            if other.op == .equal && atom.op == .equal { return other.value == atom.value ? conjunction : nil }
            throw CompileError(message: "\(syscall): the rules need argument \(atom.index) compared as \(other.op.rawValue) and \(atom.op.rawValue) at once, which one libseccomp rule cannot say; use one exception per argument value or masked comparisons")
        }
        let overlap = other.value & atom.value
        if other.valueTwo & overlap != atom.valueTwo & overlap { return nil }
        var merged = conjunction
        merged[i] = .init(index: atom.index, value: other.value | atom.value, valueTwo: other.valueTwo | atom.valueTwo, op: .maskedEqual)
        return merged
    }

    static func add(_ ctx: scmp_filter_ctx, _ action: SeccompAction, _ nr: Int32, _ args: [ArgumentComparison], _ name: String) throws {
        var comparisons = args.map { arg -> scmp_arg_cmp in
            let op: scmp_compare
            switch arg.op {
            case .notEqual: op = SCMP_CMP_NE
            case .lessThan: op = SCMP_CMP_LT
            case .lessOrEqual: op = SCMP_CMP_LE
            case .equal: op = SCMP_CMP_EQ
            case .greaterOrEqual: op = SCMP_CMP_GE
            case .greaterThan: op = SCMP_CMP_GT
            case .maskedEqual: op = SCMP_CMP_MASKED_EQ
            }
            // libseccomp: for MASKED_EQ, datum_a is the mask and datum_b the value.
            return scmp_arg_cmp(arg: UInt32(arg.index), op: op, datum_a: arg.value, datum_b: arg.valueTwo)
        }
        let rc = comparisons.withUnsafeMutableBufferPointer { buffer in
            seccomp_rule_add_array(ctx, token(action), nr, UInt32(buffer.count), buffer.baseAddress)
        }
        try check(rc, "adding a rule for \(name) (\(action))")
    }

    static func check(_ rc: Int32, _ what: String) throws {
        guard rc >= 0 else {
            throw CompileError(message: "libseccomp failed \(what): \(String(cString: strerror(-rc)))")
        }
    }
}
