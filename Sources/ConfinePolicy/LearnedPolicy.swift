import FoundationEssentials

/// Writes the smallest policy that admits the syscalls a learning run needed, with the
/// pitfalls still handled: clone3 answers ENOSYS (and clone, without namespace flags, is allowed for the fallback),
/// ioctl keeps its TIOCSTI guard, personality keeps to safe values.
public enum LearnedPolicy {
    /// The policy's JSON text.
    /// - Parameters:
    ///   - syscalls: what the run needed beyond the base (or in all, without a base).
    ///   - base: the policy to include, as the user named it; `nil` for a standalone policy.
    ///   - limits: where rlimits, timeout, outputLimit and environment come from without a base.
    ///   - socketFamilies: the address families `socket` was called with (it is allowed for those only).
    ///   - keepIsolation: a standalone policy keeps the `isolation` of `limits` (with a base, the
    ///     base's applies anyway); false leaves it to the syscall filter and limits alone.
    /// - Throws: the JSON encoder's error (none for the values a policy holds).
    public static func json(name: String, description: String, syscalls: [String], socketFamilies: [UInt64] = [],
                            base: String?, limits: Policy?, keepIsolation: Bool = true) throws -> String {
        var names = Set(syscalls)
        var rules: [[String: Any]] = []
        if base == nil { names.formUnion(["execve", "exit_group", "exit", "rt_sigreturn"]) }
        var extra: [[String: Any]] = []
        if names.remove("socket") != nil {
            for family in Set(socketFamilies).sorted() {
                extra.append(["names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": family, "op": "SCMP_CMP_EQ"]]])
            }
        }
        var needsClone = names.remove("clone") != nil
        if names.remove("clone3") != nil || base == nil {
            if syscalls.contains("clone3") { needsClone = true }
            extra.append(["names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                          "comment": "ENOSYS, so the runtime falls back to clone(2), whose flags seccomp can inspect"])
        }
        if needsClone {
            extra.append(["names": ["clone"], "action": "SCMP_ACT_ALLOW",
                          "args": [["index": 0, "value": 2_114_060_288 as UInt64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"]],
                          "comment": "no namespace flags"])
        }
        if names.contains("ioctl") {
            extra.append(["names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                          "args": [["index": 1, "value": 4_294_967_295 as UInt64, "valueTwo": 21522, "op": "SCMP_CMP_MASKED_EQ"]],
                          "comment": "no TIOCSTI"])
        }
        if names.remove("personality") != nil {
            for value: UInt64 in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
                extra.append(["names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": value, "op": "SCMP_CMP_EQ"]]])
            }
        }
        if !names.isEmpty { rules.append(["names": names.sorted(), "action": "SCMP_ACT_ALLOW"]) }
        rules += extra

        var document: [String: Any] = ["version": 1, "name": name, "description": description]
        if let base {
            document["include"] = base
            document["seccomp"] = ["syscalls": rules]
        } else {
            document["seccomp"] = ["defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
                                   "architectures": ["SCMP_ARCH_NATIVE"], "syscalls": rules]
            if let limits {
                var rlimits: [String: Any] = [:]
                for (key, value) in limits.rlimits.entries {
                    switch value {
                    case .unlimited: rlimits[key] = "unlimited"
                    case .limited(let n): rlimits[key] = n
                    }
                }
                document["rlimits"] = rlimits
                if let timeout = limits.timeout { document["timeout"] = Quantity.format(timeout) }
                if let output = limits.outputLimit { document["outputLimit"] = Quantity.format(bytes: UInt64(output)) }
                document["environment"] = limits.environment
            }
            if keepIsolation, let isolation = limits?.isolation, !isolation.isEmpty { document["isolation"] = isolation.jsonObject }
        }
        return JSONValue(any: document).text() + "\n"
    }
}
