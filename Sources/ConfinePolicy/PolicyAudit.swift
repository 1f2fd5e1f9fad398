/// What a policy really permits, scored in the manner of `systemd-analyze security`: every
/// finding adds its weight in points (100 points = exposure 10.0, the most there is), and the
/// exposure gets a label from PERFECT to DANGEROUS.
public struct AuditReport: Sendable {
    public var policy: String
    public var file: String?
    /// 0.0 (nothing exposed) to 10.0.
    public var exposure: Double
    public var label: ExposureLabel
    public var findings: [AuditFinding]
}

/// One thing a policy permits that it should not, or lacks that it should have.
public struct AuditFinding: Sendable, Hashable {
    /// A stable identifier ("syscall.mount", "rlimit.nproc.missing"): the key of the weight table.
    public var id: String
    public var severity: Severity
    /// The points it adds to the exposure (its weight).
    public var points: Double
    public var title: String
    /// The rule or field that causes it, "file:line", where there is one.
    public var origin: String?
    public var why: String
    public var fix: String
}

public enum Severity: String, Sendable, Hashable, CaseIterable, Comparable, Codable {
    case info, low, medium, high, critical

    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }

    /// The severity of a finding of this many points.
    static func of(points: Double) -> Severity {
        switch points {
        case 30...: .critical
        case 15..<30: .high
        case 6..<15: .medium
        case 1..<6: .low
        default: .info
        }
    }
}

/// systemd-analyze's labels, on Confine's 0-10 scale.
public enum ExposureLabel: String, Sendable, Hashable, CaseIterable, Comparable, Codable {
    case perfect = "PERFECT", safe = "SAFE", ok = "OK", medium = "MEDIUM", exposed = "EXPOSED"
    case unsafe = "UNSAFE", dangerous = "DANGEROUS"

    /// The label of an exposure: PERFECT < 0.5 ≤ SAFE < 2 ≤ OK < 4 ≤ MEDIUM < 6 ≤ EXPOSED < 8 ≤ UNSAFE < 9.5 ≤ DANGEROUS.
    public init(exposure: Double) {
        switch exposure {
        case ..<0.5: self = .perfect
        case ..<2.0: self = .safe
        case ..<4.0: self = .ok
        case ..<6.0: self = .medium
        case ..<8.0: self = .exposed
        case ..<9.5: self = .unsafe
        default: self = .dangerous
        }
    }

    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: ExposureLabel, b: ExposureLabel) -> Bool { a.rank < b.rank }

    /// Parses a `--fail-on` level, case-insensitively.
    public init?(level: String) {
        guard let label = Self.allCases.first(where: { $0.rawValue.lowercased() == level.lowercased() }) else { return nil }
        self = label
    }
}

/// The weights of the audit, in points, by finding id: one table, overridable by a JSON file
/// of the same shape (`{"syscall.mount": 50, ...}`), as systemd-analyze's `--policy` is.
public struct AuditWeights: Sendable {
    public var points: [String: Double]

    public static let standard = AuditWeights(points: [
        "seccomp.default-allow": 70,
        "seccomp.non-native-arch": 40,
        "user.root": 40,
        "syscall.mount": 40, "syscall.module": 50, "syscall.raw-io": 40, "syscall.reboot": 50,
        "syscall.debug": 35, "syscall.bpf": 35, "syscall.perf_event_open": 20, "syscall.userfaultfd": 15,
        "syscall.keyring": 15, "syscall.open_by_handle_at": 35, "syscall.io-uring": 30, "syscall.namespace": 30,
        "syscall.privileged": 15, "syscall.swap": 20, "syscall.clock": 20, "syscall.cpu-emulation": 5,
        "syscall.obsolete": 2, "syscall.persistent-ipc": 8,
        "syscall.clone3-allowed": 20, "syscall.clone3-eperm": 5,
        "syscall.ioctl-tiocsti": 25, "syscall.personality": 5,
        "network.raw": 25, "network.inet": 8, "network.netlink": 5, "network.unix": 2, "network.any-family": 20, "network.most-families": 14,
        "action.kill-thread": 2,
        "rlimit.cpu.missing": 6, "rlimit.as.missing": 4, "rlimit.fsize.missing": 5, "rlimit.nofile.missing": 3,
        "rlimit.nproc.missing": 8, "rlimit.core.missing": 1,
        "rlimit.cpu.large": 3, "rlimit.as.large": 2, "rlimit.fsize.large": 2, "rlimit.nofile.large": 1.5, "rlimit.nproc.large": 4,
        "timeout.missing": 10, "timeout.long": 4,
        "output.missing": 6,
        "environment.secret": 10,
        "commands.no-allow-list": 4, "commands.exec-capable": 12,
        "rules.shadowed": 1, "rules.duplicate": 0.5,
        "isolation.filesystem.none": 8, "isolation.filesystem.wide": 6, "isolation.workdir.wide": 4,
        "isolation.filesystem.writable-executable": 3,
        "isolation.network.host": 2, "isolation.pid.none": 3, "isolation.ipc.none": 1,
        "isolation.memory.none": 2, "isolation.processes.none": 2, "isolation.cpu.none": 1,
        "isolation.required-false": 0.4,
    ])

    public init(points: [String: Double]) { self.points = points }

    /// The standard table with the entries of a JSON object of id → points laid over it.
    /// - Throws: `PolicyError` for text that is not such an object, or an unknown id.
    public static func load(_ text: [UInt8], file: String) throws -> AuditWeights {
        let map = JSONSourceMap(text)
        if let syntax = map.syntaxError {
            throw PolicyError(file: file, line: syntax.line, path: "", message: "not valid JSON: \(syntax.message)")
        }
        guard case .object(let fields)? = try? JSONValue.decode(text) else {
            throw PolicyError(file: file, line: 1, path: "", message: "expected an object of finding id to points")
        }
        var weights = standard
        for (id, value) in fields {
            guard standard.points[id] != nil else {
                throw PolicyError(file: file, line: map.line(of: id), path: id, message: "unknown finding id (known: \(standard.points.keys.sorted().joined(separator: ", ")))")
            }
            switch value {
            case .unsigned(let u): weights.points[id] = Double(u)
            case .double(let d) where d >= 0: weights.points[id] = d
            default: throw PolicyError(file: file, line: map.line(of: id), path: id, message: "expected a non-negative number of points")
            }
        }
        return weights
    }

    func weight(_ id: String) -> Double { points[id] ?? 0 }
}

/// Reads policies for what they permit. Pure: it looks at the policy and the command files
/// it names, and runs nothing.
public struct PolicyAuditor: Sendable {
    public var weights: AuditWeights

    public init(weights: AuditWeights = .standard) { self.weights = weights }

    /// Programs that run other programs (or code) of the caller's choosing: an allow-list
    /// holding one of them admits everything. The value says how.
    public static let execCapable: [String: String] = {
        var table: [String: String] = [:]
        for shell in ["sh", "bash", "dash", "zsh", "ksh", "mksh", "fish", "csh", "tcsh", "ash", "busybox"] {
            table[shell] = "a shell runs any command: `\(shell) -c 'anything'`"
        }
        for interpreter in ["python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php", "lua", "luajit",
                            "tclsh", "wish", "Rscript", "julia", "guile", "racket", "ocaml", "pwsh", "java", "jshell",
                            "deno", "bun", "osascript", "expect"] {
            table[interpreter] = "an interpreter runs any code, including os.system/exec"
        }
        let how: [String: String] = [
            "env": "`env CMD` runs CMD", "xargs": "`xargs CMD` runs CMD", "find": "`find -exec CMD {} ;` runs CMD",
            "awk": "`awk 'BEGIN{system(\"CMD\")}'` runs CMD", "gawk": "`gawk 'BEGIN{system(\"CMD\")}'` runs CMD",
            "mawk": "`mawk 'BEGIN{system(\"CMD\")}'` runs CMD", "nawk": "`nawk 'BEGIN{system(\"CMD\")}'` runs CMD",
            "tar": "`tar --checkpoint=1 --checkpoint-action=exec=CMD` and `--to-command=CMD` run CMD",
            "git": "`git -c core.pager=CMD log`, aliases `!CMD` and hooks run CMD",
            "vim": "`:!CMD` runs CMD", "vi": "`:!CMD` runs CMD", "nvim": "`:!CMD` runs CMD", "ex": "`:!CMD` runs CMD",
            "ed": "`!CMD` runs CMD", "less": "`!CMD` at the prompt, and LESSOPEN, run CMD", "more": "`!CMD` runs CMD",
            "man": "the pager and MANPAGER run CMD", "ssh": "`-o ProxyCommand=CMD` runs CMD", "scp": "`-S CMD` runs CMD",
            "rsync": "`-e CMD` runs CMD", "zip": "`-TT CMD` runs CMD", "sed": "GNU sed's `e` command runs CMD",
            "make": "a Makefile runs any recipe", "timeout": "`timeout 1 CMD` runs CMD", "nice": "`nice CMD` runs CMD",
            "nohup": "`nohup CMD` runs CMD", "time": "`time CMD` runs CMD", "strace": "`strace CMD` runs CMD",
            "ltrace": "`ltrace CMD` runs CMD", "gdb": "`gdb -ex '!CMD'` runs CMD", "watch": "`watch CMD` runs CMD",
            "flock": "`flock FILE CMD` runs CMD", "parallel": "`parallel CMD` runs CMD", "socat": "`EXEC:CMD` runs CMD",
            "nc": "`nc -e CMD` runs CMD (some builds)", "script": "`script -c CMD` runs CMD", "sudo": "runs CMD as another user",
            "su": "runs a shell", "nsenter": "`nsenter CMD` runs CMD", "unshare": "`unshare CMD` runs CMD",
            "chroot": "`chroot DIR CMD` runs CMD", "setsid": "`setsid CMD` runs CMD", "stdbuf": "`stdbuf CMD` runs CMD",
            "ionice": "`ionice CMD` runs CMD", "taskset": "`taskset MASK CMD` runs CMD", "chrt": "`chrt N CMD` runs CMD",
            "run-parts": "runs every program in a directory", "dpkg": "maintainer scripts run", "apt-get": "hooks run CMD",
            "crontab": "schedules CMD", "at": "schedules CMD", "systemd-run": "runs CMD", "emacs": "`M-!` and --eval run code",
            "nano": "`^R^X` runs CMD", "mail": "`~!CMD` runs CMD", "ftp": "`!CMD` runs CMD", "sqlite3": "`.shell CMD` runs CMD",
            "mysql": "`\\! CMD` runs CMD", "psql": "`\\! CMD` runs CMD", "openssl": "engines load code",
            "dash.static": "a shell", "startx": "runs a session", "xdg-open": "opens with any program",
        ]
        table.merge(how) { a, _ in a }
        return table
    }()

    /// Audits one policy.
    public func audit(_ policy: Policy) -> AuditReport {
        var findings: [AuditFinding] = []
        func add(_ id: String, _ title: String, origin: String?, why: String, fix: String, scale: Double = 1) {
            let points = weights.weight(id) * scale
            findings.append(AuditFinding(id: id, severity: .of(points: points), points: points, title: title, origin: origin, why: why, fix: fix))
        }
        let plan = FilterPlan(policy.seccomp)
        let seccompOrigin = policy.origin(of: "seccomp.defaultAction")

        // The filter's stance.
        switch policy.seccomp.defaultAction {
        case .allow, .log:
            add("seccomp.default-allow", "the filter allows every syscall it does not name (deny-list style)", origin: seccompOrigin,
                why: "every syscall added to the kernel after the policy was written, and every one it forgot, is allowed",
                fix: "set seccomp.defaultAction to SCMP_ACT_ERRNO (defaultErrnoRet 1) and allow what the commands need")
        case .killThread:
            add("action.kill-thread", "the default action kills only the calling thread", origin: seccompOrigin,
                why: "the rest of the process goes on in a state its author never planned for", fix: "use SCMP_ACT_KILL_PROCESS or SCMP_ACT_ERRNO")
        default: break
        }
        let foreign = policy.seccomp.architectures.filter { $0 != .native && $0 != .x86_64 }
        if !foreign.isEmpty {
            add("seccomp.non-native-arch", "syscalls of other architectures are reachable: \(foreign.map(\.rawValue).joined(separator: ", "))",
                origin: policy.origin(of: "seccomp.architectures"),
                why: "the i386 and x32 tables number syscalls differently, so rules written for x86_64 do not hold for them (int 0x80 reaches the i386 table)",
                fix: "list only SCMP_ARCH_NATIVE in seccomp.architectures")
        }
        if policy.seccomp.syscalls.contains(where: { $0.action == .killThread }) && policy.seccomp.defaultAction != .killThread {
            let rule = policy.seccomp.syscalls.first { $0.action == .killThread }
            add("action.kill-thread", "a rule kills only the calling thread", origin: rule?.origin,
                why: "the rest of the process goes on in a state its author never planned for", fix: "use SCMP_ACT_KILL_PROCESS")
        }

        // Dangerous syscalls and groups.
        let dangerous: [(id: String, names: [String], what: String, why: String)] = [
            ("syscall.mount", SyscallGroups.syscalls(in: "@mount") ?? [], "mounting (@mount)", "mounts can hide or replace files the host relies on, and with namespaces escape the view"),
            ("syscall.module", SyscallGroups.syscalls(in: "@module") ?? [], "loading kernel modules (@module)", "a module is code in the kernel"),
            ("syscall.raw-io", SyscallGroups.syscalls(in: "@raw-io") ?? [], "raw I/O ports (@raw-io)", "direct hardware access bypasses every kernel check"),
            ("syscall.reboot", SyscallGroups.syscalls(in: "@reboot") ?? [], "reboot and kexec (@reboot)", "it replaces or stops the running kernel"),
            ("syscall.debug", ["ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise"], "tracing other processes (ptrace, process_vm_*)", "it reads and writes the memory of other processes of the same uid, and ptrace has a history of sandbox escapes"),
            ("syscall.bpf", ["bpf"], "bpf", "eBPF is a large kernel attack surface and can read kernel memory"),
            ("syscall.perf_event_open", ["perf_event_open"], "perf_event_open", "a large kernel attack surface and a side channel on other processes"),
            ("syscall.userfaultfd", ["userfaultfd"], "userfaultfd", "it pauses the kernel mid-copy, widening race windows that exploits rely on"),
            ("syscall.keyring", SyscallGroups.syscalls(in: "@keyring") ?? [], "the kernel keyring (add_key, keyctl, request_key)", "keyrings are not namespaced: keys leak between users and sandboxes"),
            ("syscall.open_by_handle_at", ["open_by_handle_at"], "open_by_handle_at", "it opens files by handle, bypassing paths and mount boundaries (the 'shocker' escape)"),
            ("syscall.io-uring", SyscallGroups.syscalls(in: "@io-uring") ?? [], "io_uring", "io_uring performs I/O the seccomp filter never sees, and has been a steady source of kernel bugs"),
            ("syscall.namespace", ["unshare", "setns"], "unshare and setns", "new user namespaces give the command capabilities inside them and expose far more kernel code"),
            ("syscall.privileged", ["chroot", "acct", "quotactl", "vhangup", "sethostname", "setdomainname", "syslog", "mknod", "mknodat", "fanotify_init", "capset", "lookup_dcookie"], "administrative calls (@privileged)", "they change host-wide state when any privilege is left"),
            ("syscall.swap", SyscallGroups.syscalls(in: "@swap") ?? [], "swapon/swapoff", "it changes host-wide memory"),
            ("syscall.clock", SyscallGroups.syscalls(in: "@clock") ?? [], "setting the clock (@clock)", "the clock is host-wide: certificates, logs and timers break"),
            ("syscall.cpu-emulation", SyscallGroups.syscalls(in: "@cpu-emulation") ?? [], "modify_ldt/vm86", "legacy CPU modes with a record of kernel bugs"),
            ("syscall.obsolete", (SyscallGroups.syscalls(in: "@obsolete") ?? []).filter { $0 != "personality" }, "obsolete calls (@obsolete)", "no current program needs them; they are only attack surface"),
        ]
        for item in dangerous {
            let allowed = item.names.filter { name in
                guard Syscalls.number(of: name) != nil else { return false }
                return Self.permits(plan, name)
            }
            guard !allowed.isEmpty else { continue }
            add(item.id, "allows \(item.what): \(allowed.joined(separator: ", "))", origin: ruleOrigin(plan, allowed[0]),
                why: item.why, fix: "remove \(allowed.joined(separator: ", ")) from the allowed rules (they then get the default action)")
        }

        if Self.permits(plan, "clone", arguments: [0x1000_0000 | 17]) || Self.permits(plan, "clone", arguments: [0x4000_0000 | 17]) {
            add("syscall.namespace", "clone is allowed with namespace flags (CLONE_NEWUSER, CLONE_NEWNET, ...)", origin: ruleOrigin(plan, "clone"),
                why: "a new user namespace gives the command every capability inside it (rtnetlink, mount, ...), far more kernel surface than the filter intends",
                fix: "allow clone only with { \"index\": 0, \"value\": 2114060288, \"valueTwo\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\" }")
        }
        let persistent = ["shmget", "msgget", "semget", "mq_open"].filter { Self.permits(plan, $0) }
        if !persistent.isEmpty {
            add("syscall.persistent-ipc", "allows IPC objects that outlive the command: \(persistent.joined(separator: ", "))", origin: ruleOrigin(plan, persistent[0]),
                why: "System V segments and message queues stay after the command ends: the next command can read them, and shared memory escapes RLIMIT_AS",
                fix: "allow @ipc (pipes, memfd) rather than @sysv-ipc or @mqueue")
        }

        // clone3, ioctl, personality.
        switch plan.decide("clone3").action {
        case .allow, .log:
            add("syscall.clone3-allowed", "allows clone3", origin: ruleOrigin(plan, "clone3"),
                why: "clone3's flags live in memory seccomp cannot read, so namespace flags cannot be refused the way clone's can",
                fix: "answer clone3 with SCMP_ACT_ERRNO and errnoRet 38 (ENOSYS); runtimes then fall back to clone(2)")
        case .errno(let e) where e != 38:
            add("syscall.clone3-eperm", "clone3 answers errno \(e) instead of ENOSYS", origin: ruleOrigin(plan, "clone3") ?? seccompOrigin,
                why: "glibc and language runtimes fall back to clone(2) only on ENOSYS; any other errno makes thread and process creation fail",
                fix: "add { \"names\": [\"clone3\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38 }")
        default: break
        }
        if Self.permits(plan, "ioctl") && Self.permits(plan, "ioctl", arguments: [0, 0x5412]) && Self.permits(plan, "ioctl", arguments: [0, 0x1_0000_5412]) {
            add("syscall.ioctl-tiocsti", "ioctl is allowed without a TIOCSTI guard", origin: ruleOrigin(plan, "ioctl"),
                why: "TIOCSTI pushes keystrokes into the terminal the command shares with its caller, which then runs them",
                fix: "add an exception: { \"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{ \"index\": 1, \"value\": 4294967295, \"valueTwo\": 21522, \"op\": \"SCMP_CMP_MASKED_EQ\" }] }")
        }
        if Self.permits(plan, "personality", arguments: [0x0040_0000]) || Self.permits(plan, "personality", arguments: [0x0004_0000]) {
            add("syscall.personality", "personality is allowed with any value", origin: ruleOrigin(plan, "personality"),
                why: "READ_IMPLIES_EXEC and ADDR_NO_RANDOMIZE turn off exploit mitigations",
                fix: "allow personality only for 0, 8, 0x20000, 0x20008 and 0xffffffff")
        }

        // Network.
        if Self.permits(plan, "socket") {
            let families: [(UInt64, String)] = [(1, "AF_UNIX"), (2, "AF_INET"), (10, "AF_INET6"), (16, "AF_NETLINK"), (17, "AF_PACKET")]
            let open = families.filter { Self.permits(plan, "socket", arguments: [$0.0, 1, 0]) || Self.permits(plan, "socket", arguments: [$0.0, 3, 0]) }
            // each finding points at the rule that decides the call it is about
            func origin(_ arguments: [UInt64]) -> String? { plan.decide("socket", arguments: arguments).origin ?? ruleOrigin(plan, "socket") }
            // families that are rarely needed and often attacked: a rule that refuses them is not "every family"
            let guarded: [(UInt64, String)] = [(38, "AF_ALG"), (40, "AF_VSOCK"), (17, "AF_PACKET"), (31, "AF_BLUETOOTH"), (29, "AF_CAN")]
            if Self.permits(plan, "socket", arguments: [99, 1, 0]) {
                let refused = guarded.filter { !Self.permits(plan, "socket", arguments: [$0.0, 1, 0]) && !Self.permits(plan, "socket", arguments: [$0.0, 3, 0]) }
                if refused.isEmpty {
                    add("network.any-family", "socket is allowed for every address family", origin: origin([99, 1, 0]),
                        why: "every protocol family the kernel has (bluetooth, vsock, packet, ...) is reachable, each its own attack surface",
                        fix: "allow socket only with arg0 equal to the families needed (AF_UNIX 1, AF_INET 2, AF_INET6 10)")
                } else {
                    add("network.most-families", "socket is allowed for every address family but \(refused.map(\.1).joined(separator: ", "))",
                        origin: origin([99, 1, 0]),
                        why: "the families left open (rarely used ones such as AF_KEY, AF_RDS, AF_TIPC, AF_X25) are each their own attack surface",
                        fix: "allow socket only with arg0 equal to the families needed (AF_UNIX 1, AF_INET 2, AF_INET6 10)")
                }
            }
            if Self.permits(plan, "socket", arguments: [17, 3, 0]) || Self.permits(plan, "socket", arguments: [2, 3, 255]) {
                let raw: [UInt64] = Self.permits(plan, "socket", arguments: [17, 3, 0]) ? [17, 3, 0] : [2, 3, 255]
                add("network.raw", "raw or packet sockets can be opened", origin: origin(raw),
                    why: "raw sockets forge and sniff traffic on the host's network", fix: "refuse AF_PACKET and SOCK_RAW (arg1 3)")
            }
            if let inet = open.first(where: { $0.0 == 2 || $0.0 == 10 }) {
                add("network.inet", "internet sockets are allowed (\(open.filter { $0.0 == 2 || $0.0 == 10 }.map(\.1).joined(separator: ", ")))",
                    origin: origin(Self.permits(plan, "socket", arguments: [inet.0, 1, 0]) ? [inet.0, 1, 0] : [inet.0, 3, 0]),
                    why: "the command can reach any host the machine can, including cloud metadata endpoints and internal services",
                    fix: "drop AF_INET/AF_INET6 from the socket rules, or run with network: none (a network namespace)")
            }
            if Self.permits(plan, "socket", arguments: [16, 3, 9]) {
                add("network.netlink", "netlink sockets of any protocol are allowed", origin: origin([16, 3, 9]),
                    why: "netlink reaches routing, audit, and other kernel subsystems", fix: "allow AF_NETLINK only with arg2 0 (NETLINK_ROUTE)")
            }
            if open.contains(where: { $0.0 == 1 }) && Self.permits(plan, "connect") {
                add("network.unix", "local (AF_UNIX) sockets can be created and connected", origin: origin([1, 1, 0]),
                    why: "abstract sockets of the host (D-Bus, X11, container runtimes) are reachable unless a network namespace or Landlock scope hides them",
                    fix: "refuse socket(AF_UNIX) if the commands do not need it; socketpair stays available")
            }
        }

        // Limits.
        let limitChecks: [(name: String, large: UInt64, unit: String, why: String)] = [
            ("cpu", 600, "seconds", "a CPU spin runs until the timeout, starving others"),
            ("as", 16 << 30, "bytes", "a memory hog can push the host into swapping and the OOM killer"),
            ("fsize", 4 << 30, "bytes", "one command can fill the disk"),
            ("nofile", 65536, "descriptors", "descriptor exhaustion slows the kernel and the host's other services"),
            ("nproc", 4096, "processes", "a fork bomb is bounded only by the host's pid limit"),
            ("core", 0, "bytes", "core dumps of confined commands may land on disk with their secrets"),
        ]
        for check in limitChecks {
            let path = "rlimits.\(check.name)"
            switch policy.rlimits[check.name] {
            case nil, .unlimited?:
                add("rlimit.\(check.name).missing", "no \(check.name) limit", origin: policy.origin(of: path),
                    why: check.why, fix: "set rlimits.\(check.name)")
            case .limited(let value)? where check.name != "core" && value > check.large:
                add("rlimit.\(check.name).large", "the \(check.name) limit is very large (\(value) \(check.unit))", origin: policy.origin(of: path),
                    why: check.why, fix: "lower rlimits.\(check.name) to what the commands need")
            default: break
            }
        }
        if let timeout = policy.timeout {
            if timeout > .seconds(3600) {
                add("timeout.long", "the timeout is over an hour (\(Quantity.format(timeout)))", origin: policy.origin(of: "timeout"),
                    why: "a stuck command holds its slot for that long", fix: "lower timeout")
            }
        } else {
            add("timeout.missing", "no timeout", origin: policy.source,
                why: "a command that never ends holds its process tree and slot forever", fix: "set timeout (\"30s\")")
        }
        if policy.outputLimit == nil {
            add("output.missing", "no output cap", origin: policy.source,
                why: "a command that floods its output makes the caller hold all of it in memory", fix: "set outputLimit (\"16MiB\")")
        }
        let secretWords = ["SECRET", "TOKEN", "PASSWORD", "PASSWD", "ACCESS_KEY", "PRIVATE_KEY", "CREDENTIAL", "API_KEY"]
        for key in policy.environment.keys.sorted() where secretWords.contains(where: { key.uppercased().contains($0) }) || key.hasPrefix("AWS_") || key.hasPrefix("ALIBABA_CLOUD_") {
            add("environment.secret", "the environment passes \(key) to every command", origin: policy.origin(of: "environment.\(key)"),
                why: "every confined command, and anything it runs, can read and send it",
                fix: "remove \(key) from environment; hand credentials only to the function that needs them")
        }
        switch policy.user {
        case .ids(uid: 0, _):
            add("user.root", "commands run as root", origin: policy.origin(of: "user"),
                why: "root bypasses file permissions, RLIMIT_NPROC and root-only devices whatever the syscall filter says",
                fix: "remove user, so commands get an unprivileged uid of their own")
        case .inherit:
            add("user.root", "commands run as the caller's uid (root when the service is root)", origin: policy.origin(of: "user"),
                why: "root bypasses file permissions, RLIMIT_NPROC and root-only devices whatever the syscall filter says",
                fix: "remove user, so commands get an unprivileged uid of their own")
        default: break
        }

        // Commands.
        if policy.commands.allow.isEmpty {
            add("commands.no-allow-list", "no command allow-list: any executable may run", origin: policy.origin(of: "commands") ?? policy.source,
                why: "shells, interpreters and setuid helpers are all admitted; only the syscall filter and limits stand",
                fix: "list the commands in commands.allow")
        } else {
            for (i, entry) in policy.commands.allow.enumerated() {
                let base = Self.baseName(of: entry)
                guard let how = Self.execCapable[base] ?? Self.execCapable[Self.stripVersion(base)] else { continue }
                add("commands.exec-capable", "commands.allow admits \(entry), which runs other programs", origin: policy.origin(of: "commands.allow[\(i)]"),
                    why: "\(how), so the allow-list no longer limits what runs",
                    fix: "remove \(entry), or give it a policy of its own whose syscall filter holds whatever it runs")
            }
        }

        // Beyond syscalls.
        findings += isolationFindings(policy)

        // Rules that do nothing.
        findings += rulesWithoutEffect(policy)

        let total = findings.reduce(0) { $0 + $1.points }
        let exposure = min(10, (total / 10 * 10).rounded() / 10)
        findings.sort { ($0.points, $1.id) > ($1.points, $0.id) }
        return AuditReport(policy: policy.name, file: policy.source, exposure: exposure, label: ExposureLabel(exposure: exposure), findings: findings)
    }

    /// What the policy's `isolation` leaves open: no filesystem view or one that shows whole
    /// system trees, working directories that widen it, the host's network, processes and IPC,
    /// no cgroup caps for the tree.
    func isolationFindings(_ policy: Policy) -> [AuditFinding] {
        var findings: [AuditFinding] = []
        func add(_ id: String, _ title: String, _ field: String, why: String, fix: String) {
            let points = weights.weight(id)
            guard points > 0 else { return }
            findings.append(AuditFinding(id: id, severity: .of(points: points), points: points, title: title,
                                         origin: policy.origin(of: field) ?? policy.source, why: why, fix: fix))
        }
        let isolation = policy.isolation
        if let filesystem = isolation.filesystem {
            let trees = ["/", "/home", "/root", "/etc", "/var", "/proc", "/sys", "/dev", "/run", "/tmp"]
            for (key, paths) in [("readWrite", filesystem.readWrite), ("readOnly", filesystem.readOnly)] {
                for (i, path) in paths.enumerated() where trees.contains(path) {
                    add("isolation.filesystem.wide", "isolation.filesystem.\(key) shows the whole of \(path)", "isolation.filesystem.\(key)[\(i)]",
                        why: "everything under \(path) that the command's uid can read\(key == "readWrite" ? " or write" : "") is in reach: other users' files, keys, the service's configuration",
                        fix: "list the folders the commands need instead of \(path)")
                }
            }
            if filesystem.writableExecutable {
                add("isolation.filesystem.writable-executable", "files the command writes can be executed (isolation.filesystem.writableExecutable)",
                    "isolation.filesystem",
                    why: "a command can write or download a program into its HOME/TMPDIR or a writable folder and run it: code that is in no listed path and that commands.allow never saw",
                    fix: "set isolation.filesystem.writableExecutable to false where the commands only run installed programs")
            }
            if filesystem.workingDirectory != .none || filesystem.grants != .none {
                let wide = ["/", "/home", "/root", "/etc", "/proc"].filter { WorkingDirectoryRules.decide($0, rules: filesystem.workingDirectories).admitted }
                if !wide.isEmpty {
                    let joins = [filesystem.workingDirectory != .none ? "the caller's working directory joins the view (\(filesystem.workingDirectory.rawValue))" : nil,
                                 filesystem.grants != .none ? "a caller may grant such a path (\(filesystem.grants.rawValue))" : nil].compactMap { $0 }
                    add("isolation.workdir.wide", "isolation.filesystem.workingDirectories admits \(wide.joined(separator: ", ")) as a working directory or grant",
                        "isolation.filesystem.workingDirectories",
                        why: "\(joins.joined(separator: ", and ")): from \(wide[0]) a command reaches everything under it",
                        fix: "admit only project folders, e.g. [\"/srv/jobs/*\"]; the standard rules refuse system trees and homes themselves")
                }
            }
        } else {
            add("isolation.filesystem.none", "no filesystem view (isolation.filesystem)", "isolation",
                why: "the command sees everything its uid can read: /home, other users' world-readable files, the service's own folder",
                fix: "add isolation.filesystem with the paths the commands need, or include default")
        }
        if isolation.network == .host {
            add("isolation.network.host", "the host's network (isolation.network host)", "isolation.network",
                why: "the host's interfaces, and abstract unix sockets (D-Bus, container runtimes) unless Landlock scopes hide them, are reachable within what the socket rules allow",
                fix: "set isolation.network to none (a namespace with loopback only) if the commands need no network")
        }
        // The parts a policy may leave off, each with what that leaves open.
        let missing: [(off: Bool, id: String, title: String, field: String, why: String, fix: String)] = [
            (!isolation.pidNamespace, "isolation.pid.none", "no PID namespace", "isolation.processes",
             "the command sees every process of the host in /proc and may signal those of its uid", "set isolation.processes.namespace to true"),
            (!isolation.privateIPC, "isolation.ipc.none", "no private IPC namespace", "isolation",
             "SysV shared memory, semaphores and POSIX message queues of the host are reachable", "set isolation.ipc to private"),
            (isolation.memory == nil, "isolation.memory.none", "no memory cap for the process tree (isolation.memory)", "isolation",
             "RLIMIT_AS bounds each process, not the tree: many processes together can exhaust the host's memory", "set isolation.memory (\"1GiB\")"),
            (isolation.maxProcesses == nil, "isolation.processes.none", "no process cap for the tree (isolation.processes.max)", "isolation",
             "RLIMIT_NPROC counts per uid and not for root: a fork bomb is bounded by the host's pid limit", "set isolation.processes.max (256)"),
            (isolation.cpu == nil, "isolation.cpu.none", "no CPU quota for the tree (isolation.cpu)", "isolation",
             "the tree may take every core until RLIMIT_CPU or the timeout ends it", "set isolation.cpu (1 core)"),
        ]
        for part in missing where part.off { add(part.id, part.title, part.field, why: part.why, fix: part.fix) }
        // Parts a host may lack (Landlock, namespaces, cgroups) are skipped there with a warning.
        if !isolation.isEmpty && !isolation.required {
            add("isolation.required-false", "isolation runs without the parts a host lacks (required: false)",
                policy.origin(of: "isolation.required") != nil ? "isolation.required" : "isolation",
                why: "on a host without Landlock, namespaces or cgroups the same policy confines less, and only a warning says so (a service's log, not its caller)",
                fix: "set isolation.required to true where running with less is worse than not running; confine doctor shows what a host gives")
        }
        return findings
    }

    /// Rules fully overridden by a later rule, or repeating an earlier one.
    func rulesWithoutEffect(_ policy: Policy) -> [AuditFinding] {
        var findings: [AuditFinding] = []
        var lastUnconditional: [String: Int] = [:]
        var seen: [String: Int] = [:]
        let rules = policy.seccomp.syscalls
        for (index, rule) in rules.enumerated() where rule.args.isEmpty {
            for name in FilterPlan.expand(rule.names) { lastUnconditional[name] = index }
        }
        for (index, rule) in rules.enumerated() {
            let key = "\(rule.names.sorted())|\(rule.action)|\(rule.args)"
            if let earlier = seen[key] {
                let points = weights.weight("rules.duplicate")
                findings.append(AuditFinding(id: "rules.duplicate", severity: .of(points: points), points: points,
                    title: "rule repeats the rule at \(rules[earlier].origin ?? "#\(earlier)")", origin: rule.origin,
                    why: "a repeated rule makes a policy harder to review", fix: "delete one of them"))
                continue
            }
            seen[key] = index
            guard rule.args.isEmpty else { continue }
            let names = FilterPlan.expand(rule.names)
            guard !names.isEmpty else { continue }
            let overridden = names.filter { (lastUnconditional[$0] ?? index) > index }
            if overridden.count == names.count {
                let later = rules[lastUnconditional[names[0]] ?? index]
                let points = weights.weight("rules.shadowed")
                findings.append(AuditFinding(id: "rules.shadowed", severity: .of(points: points), points: points,
                    title: "rule has no effect: every syscall it names is set again later (e.g. \(names[0]) at \(later.origin ?? "?"))",
                    origin: rule.origin, why: "a rule that does nothing misleads whoever reviews the policy", fix: "delete it, or merge it into the later rule"))
            }
        }
        return findings
    }

    /// Whether the plan lets `name` through with some argument values (or these).
    static func permits(_ plan: FilterPlan, _ name: String, arguments: [UInt64]? = nil) -> Bool {
        func lets(_ action: SeccompAction) -> Bool { action == .allow || action == .log }
        if let arguments { return lets(plan.decide(name, arguments: arguments).action) }
        guard let entry = plan.entries[name] else { return lets(plan.defaultAction) }
        if let base = entry.base, lets(base.action) { return true }
        if entry.base == nil && lets(plan.defaultAction) { return true }
        return entry.conditional.contains { lets($0.action) }
    }

    func ruleOrigin(_ plan: FilterPlan, _ name: String) -> String? {
        guard let entry = plan.entries[name] else { return nil }
        return entry.base?.origin ?? entry.conditional.first?.rule.origin
    }

    static func baseName(of entry: String) -> String {
        entry.split(separator: "/").last.map(String.init) ?? entry
    }

    /// "python3.11" → "python3", "perl5.36" → "perl5"... and finally the letters alone.
    static func stripVersion(_ name: String) -> String {
        var trimmed = Substring(name)
        while let last = trimmed.last, last.isNumber || last == "." { trimmed = trimmed.dropLast() }
        if execCapable[String(trimmed)] != nil { return String(trimmed) }
        return String(name.prefix { !$0.isNumber && $0 != "." })
    }
}

