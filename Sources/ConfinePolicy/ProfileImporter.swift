import FoundationEssentials

/// Converts an OCI / Docker seccomp profile into a Confine policy, resolving each rule's
/// `includes` and `excludes` for the capabilities, architecture and kernel the user states.
/// Everything it cannot carry over becomes a warning: nothing is dropped silently.
public struct ProfileImporter: Sendable {
    /// Capabilities the commands would hold (`CAP_SYS_ADMIN`, ...); Confine's commands hold none.
    public var capabilities: Set<String>
    /// The architecture rules are selected for, in Docker's spelling ("amd64", "x86_64", "arm64").
    public var architecture: String
    /// The kernel version rules with `minKernel` are checked against ("6.1").
    public var kernel: String
    /// The isolation the imported policy keeps (a Docker profile has none of its own: the
    /// container gave it). nil leaves the policy with the syscall filter alone.
    public var isolation: Isolation?

    public init(capabilities: Set<String> = [], architecture: String = "amd64", kernel: String, isolation: Isolation? = nil) {
        self.capabilities = capabilities
        self.architecture = architecture
        self.kernel = kernel
        self.isolation = isolation
    }

    public struct Result: Sendable {
        /// The policy as JSON text, ready for `policies/`.
        public var json: String
        public var warnings: [String]
        /// How many of the profile's rules the policy keeps, and how many it could not express.
        public var rulesKept: Int
        public var rulesSkipped: Int { rulesNotApplicable + rulesNotExpressible }
        /// Rules for other capabilities, architectures or kernels: expected to go.
        public var rulesNotApplicable: Int = 0
        /// Rules Confine could not keep (an action, a comparison, or only calls libseccomp does not know).
        public var rulesNotExpressible: Int = 0
        /// Calls of this architecture that this libseccomp cannot name, so no rule can hold them:
        /// they get the default action whatever the profile said.
        public var unknownToLibseccomp: [String] = []
        /// Names of calls this architecture does not have (32-bit ones such as chown32): expected to go.
        public var notOnThisArchitecture: [String] = []
    }

    /// - Throws: `PolicyError` when the profile is not JSON or not a seccomp profile.
    public func convert(_ text: [UInt8], file: String, name: String) throws -> Result {
        let map = JSONSourceMap(text)
        if let syntax = map.syntaxError {
            throw PolicyError(file: file, line: syntax.line, path: "", message: "not valid JSON: \(syntax.message)")
        }
        guard case .object(let root) = try JSONValue.decode(text) else {
            throw PolicyError(file: file, line: 1, path: "", message: "expected a seccomp profile object")
        }
        var warnings: [String] = []
        func warn(_ path: String, _ message: String) {
            warnings.append("\(file):\(map.line(of: path) ?? 0): \(path.isEmpty ? "" : path + ": ")\(message)")
        }
        let known: Set<String> = ["defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "flags",
                                  "listenerPath", "listenerMetadata", "comment"]
        for key in root.keys.sorted() where !known.contains(key) {
            warn(key, "unknown field, not imported")
        }
        for key in ["flags", "listenerPath", "listenerMetadata"] where root[key] != nil {
            warn(key, "not imported: Confine installs its filter without flags and runs no seccomp agent")
        }
        guard case .string(let defaultActionName)? = root["defaultAction"] else {
            throw PolicyError(file: file, line: map.line(of: "defaultAction"), path: "defaultAction", message: "a seccomp profile needs a defaultAction")
        }
        var seccomp: [String: Any] = [:]
        seccomp["defaultAction"] = Self.supportedAction(defaultActionName) ?? "SCMP_ACT_ERRNO"
        if Self.supportedAction(defaultActionName) == nil {
            warn("defaultAction", "\(defaultActionName) is not supported; SCMP_ACT_ERRNO used instead")
        }
        if case .unsigned(let e)? = root["defaultErrnoRet"] { seccomp["defaultErrnoRet"] = e }
        seccomp["architectures"] = ["SCMP_ARCH_NATIVE"]
        if root["archMap"] != nil || root["architectures"] != nil {
            warn(root["archMap"] != nil ? "archMap" : "architectures",
                 "only the native architecture is kept: Confine kills calls of other architectures (i386 int 0x80, x32) by design")
        }

        var rules: [[String: Any]] = []
        var kept = 0, skipped = 0, notApplicable = 0
        var unknownHere: [String] = [], otherArchitecture: [String] = []
        guard case .array(let syscalls)? = root["syscalls"] else {
            warn("syscalls", "no syscalls: every call gets the default action")
            return Result(json: try render(name: name, file: file, seccomp: seccomp, rules: []), warnings: warnings, rulesKept: 0)
        }
        for (i, raw) in syscalls.enumerated() {
            let path = "syscalls[\(i)]"
            guard case .object(let rule) = raw else { warn(path, "not an object, skipped"); skipped += 1; continue }
            for key in rule.keys.sorted() where !["names", "name", "action", "args", "comment", "includes", "excludes", "errnoRet"].contains(key) {
                warn("\(path).\(key)", "unknown field, not imported")
            }
            if let reason = exclusion(rule) {
                notApplicable += 1
                _ = reason  // rules for other capabilities, arches or kernels are expected to go; not a warning
                continue
            }
            guard case .string(let actionName)? = rule["action"], let action = Self.supportedAction(actionName) else {
                warn("\(path).action", "action \(Self.describe(rule["action"])) is not supported (a tracer or agent would be needed); rule skipped, its calls get the default action")
                skipped += 1
                continue
            }
            var names: [String] = []
            if case .array(let list)? = rule["names"] {
                names = list.compactMap { if case .string(let s) = $0 { s } else { nil } }
            } else if case .string(let single)? = rule["name"] {
                names = [single]
            }
            let unknown = names.filter { Syscalls.number(of: $0) == nil }
            // real calls of this machine that libseccomp cannot name matter (their rule is lost);
            // 32-bit and other architectures' names are expected to go
            let real = unknown.filter { Syscalls.newerThanLibseccomp[$0] != nil }
            let foreign = unknown.filter { Syscalls.newerThanLibseccomp[$0] == nil }
            if !real.isEmpty {
                warn("\(path).names", "calls of \(Self.nativeArch) this libseccomp cannot name, so this rule cannot hold them and they get the default action: \(real.map { "\($0) (\(Syscalls.newerThanLibseccomp[$0] ?? 0))" }.joined(separator: ", "))")
            }
            unknownHere += real.filter { !unknownHere.contains($0) }
            otherArchitecture += foreign.filter { !otherArchitecture.contains($0) }
            names = names.filter { Syscalls.number(of: $0) != nil }
            guard !names.isEmpty else { skipped += 1; continue }
            var out: [String: Any] = ["names": names, "action": action]
            if action == "SCMP_ACT_ERRNO" {
                if case .unsigned(let e)? = rule["errnoRet"] { out["errnoRet"] = e }
            } else if rule["errnoRet"] != nil {
                warn("\(path).errnoRet", "only meaningful with SCMP_ACT_ERRNO; dropped")
            }
            if case .array(let args)? = rule["args"], !args.isEmpty {
                var converted: [[String: Any]] = []
                var usable = true
                for (j, arg) in args.enumerated() {
                    guard case .object(let fields) = arg, case .unsigned(let index)? = fields["index"], index <= 5,
                          case .string(let op)? = fields["op"], ArgumentComparison.Operator(rawValue: op) != nil else {
                        warn("\(path).args[\(j)]", "not a comparison Confine understands; rule skipped")
                        usable = false
                        break
                    }
                    var c: [String: Any] = ["index": index, "op": op]
                    if case .unsigned(let v)? = fields["value"] { c["value"] = v }
                    if case .unsigned(let v)? = fields["valueTwo"] { c["valueTwo"] = v }
                    converted.append(c)
                }
                guard usable else { skipped += 1; continue }
                out["args"] = converted
            }
            if case .string(let comment)? = rule["comment"], !comment.isEmpty { out["comment"] = comment }
            rules.append(out)
            kept += 1
        }
        if !otherArchitecture.isEmpty {
            warnings.append("\(file): not calls of \(Self.nativeArch) (32-bit or other architectures' names), dropped as expected: \(otherArchitecture.joined(separator: ", "))")
        }
        return Result(json: try render(name: name, file: file, seccomp: seccomp, rules: rules), warnings: warnings, rulesKept: kept,
                      rulesNotApplicable: notApplicable, rulesNotExpressible: skipped, unknownToLibseccomp: unknownHere,
                      notOnThisArchitecture: otherArchitecture)
    }

    /// Why a rule does not apply to these capabilities, arch and kernel; nil when it does.
    func exclusion(_ rule: [String: JSONValue]) -> String? {
        func strings(_ value: JSONValue?) -> [String] {
            guard case .array(let items)? = value else { return [] }
            return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
        }
        let arch = Self.canonicalArch(architecture)
        if case .object(let includes)? = rule["includes"] {
            let caps = strings(includes["caps"])
            if !caps.isEmpty && !caps.allSatisfy(capabilities.contains) { return "needs \(caps.joined(separator: ", "))" }
            let arches = strings(includes["arches"]).map(Self.canonicalArch)
            if !arches.isEmpty && !arches.contains(arch) { return "for \(arches.joined(separator: ", "))" }
            if case .string(let minimum)? = includes["minKernel"], Self.compare(kernel, minimum) < 0 { return "needs kernel \(minimum)" }
        }
        if case .object(let excludes)? = rule["excludes"] {
            if strings(excludes["caps"]).contains(where: capabilities.contains) { return "excluded for granted capabilities" }
            if strings(excludes["arches"]).map(Self.canonicalArch).contains(arch) { return "excluded for \(arch)" }
            if case .string(let maximum)? = excludes["minKernel"], Self.compare(kernel, maximum) >= 0 { return "excluded from kernel \(maximum)" }
        }
        return nil
    }

    static func supportedAction(_ name: String) -> String? {
        ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_LOG"]
            .contains(name) ? name : nil
    }

    static func describe(_ value: JSONValue?) -> String {
        if case .string(let s)? = value { return s }
        return value?.typeName ?? "(missing)"
    }

    /// The Linux capabilities (capabilities(7)), as profiles name them.
    public static let capabilityNames: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// A capability as profiles spell it (`CAP_SYS_ADMIN`) for a name given in any case, with or
    /// without the `CAP_` prefix (`sys_admin`); nil for one capabilities(7) does not list.
    public static func capability(_ given: String) -> String? {
        let upper = given.uppercased()
        let name = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        return capabilityNames.contains(name) ? name : nil
    }

    /// The architectures profiles name (Docker's and libseccomp's spellings), as `canonicalArch` gives them.
    public static let architectureNames: [String] = [
        "x86_64", "x86", "x32", "aarch64", "arm", "mips", "mipsel", "mips64", "mips64n32", "mipsel64", "mipsel64n32",
        "ppc", "ppc64", "ppc64le", "s390", "s390x", "riscv64", "loongarch64",
    ]

    /// The architecture this program runs on, as `canonicalArch` names it.
    public static var nativeArch: String {
        #if arch(x86_64)
        "x86_64"
        #elseif arch(arm64)
        "aarch64"
        #else
        "unknown"
        #endif
    }

    /// This machine's architecture as an OCI profile names it (`SCMP_ARCH_X86_64`).
    public static var nativeOCIArchitecture: String {
        "SCMP_ARCH_" + nativeArch.uppercased()
    }

    /// Whether `text` is a kernel version rules can be compared with: dotted numbers, then
    /// anything after a `-`, `+` or `~` (`6.1`, `6.18.0-1-amd64`).
    public static func isKernelVersion(_ text: String) -> Bool {
        let core = text.prefix { $0 != "-" && $0 != "+" && $0 != "~" }
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        return !parts.isEmpty && parts.count <= 4 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    /// Docker's and libseccomp's arch spellings onto one ("amd64" = "x86_64" = "SCMP_ARCH_X86_64").
    public static func canonicalArch(_ name: String) -> String {
        let lowered = { let l = name.lowercased(); return l.hasPrefix("scmp_arch_") ? String(l.dropFirst(10)) : l }()
        switch lowered {
        case "amd64", "x86_64": return "x86_64"
        case "arm64", "aarch64": return "aarch64"
        case "386", "i386", "x86": return "x86"
        case "loong64", "loongarch64": return "loongarch64"
        default: return lowered
        }
    }

    /// Compares dotted versions: negative, zero or positive.
    static func compare(_ a: String, _ b: String) -> Int {
        let x = a.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        let y = b.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        for i in 0..<max(x.count, y.count) {
            let l = i < x.count ? x[i] : 0, r = i < y.count ? y[i] : 0
            if l != r { return l < r ? -1 : 1 }
        }
        return 0
    }

    private func render(name: String, file: String, seccomp: [String: Any], rules: [[String: Any]]) throws -> String {
        var seccomp = seccomp
        seccomp["syscalls"] = rules
        let caps = capabilities.isEmpty ? "no capabilities" : capabilities.sorted().joined(separator: ", ")
        var document: [String: Any] = [
            "version": 1,
            "name": name,
            "description": "Imported from \((file.split(separator: "/").last.map(String.init) ?? file)) for \(architecture), kernel \(kernel), \(caps).",
            "seccomp": seccomp,
        ]
        if let isolation, !isolation.isEmpty { document["isolation"] = isolation.jsonObject }
        return JSONValue(any: document).text() + "\n"
    }
}
