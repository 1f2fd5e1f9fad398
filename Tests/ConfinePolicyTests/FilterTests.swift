import ConfinePolicy
import Testing

/// The compiled filter itself, run in a BPF interpreter: the pitfalls the shipped policies handle are
/// checked against the exact bytes the launcher installs.
@Suite struct FilterTests {
    let program: BPFProgram
    let plan: FilterPlan

    init() throws {
        let policy = try PolicyReader().load("default")
        program = BPFProgram(try PolicyCompiler.compile(policy.seccomp))
        plan = FilterPlan(policy.seccomp)
    }

    func verdict(_ name: String, _ args: [UInt64] = []) throws -> BPFProgram.Verdict {
        try program.evaluate(nr: try #require(Syscalls.number(of: name)), arguments: args)
    }

    @Test func nonNativeArchitecturesAreKilled() throws {
        // i386 `int 0x80` arrives with AUDIT_ARCH_I386: killed whatever the number.
        #expect(try program.evaluate(nr: 20, arch: BPFProgram.auditArchI386) == .killProcess)
        #expect(try program.evaluate(nr: 1, arch: BPFProgram.auditArchI386) == .killProcess)
        // x32 calls carry bit 30 in the number on the x86_64 arch.
        let x32 = Int32(bitPattern: 0x4000_0000 | 39)
        let x32Verdict = try program.evaluate(nr: x32)
        #expect(x32Verdict == .killProcess || x32Verdict == .killThread)
    }

    @Test func tiocstiIsRefusedWhateverTheHighBits() throws {
        let tiocsti: UInt64 = 0x5412
        #expect(try verdict("ioctl", [0, tiocsti]) == .errno(1))
        #expect(try verdict("ioctl", [0, tiocsti | (1 << 32)]) == .errno(1))
        #expect(try verdict("ioctl", [0, tiocsti | 0xffff_ffff_0000_0000]) == .errno(1))
        #expect(try verdict("ioctl", [0, 0x5401]) == .allow, "TCGETS (isatty) stays allowed")
        #expect(try verdict("ioctl", [1, 0x5413]) == .allow, "TIOCGWINSZ stays allowed")
        #expect(try verdict("ioctl", [1, 0x5412 ^ 1]) == .allow)
    }

    @Test func clone3AnswersENOSYSSoRuntimesFallBack() throws {
        #expect(try verdict("clone3") == .errno(38))
        #expect(try verdict("clone", [0x11, 0]) == .allow)
    }

    @Test(arguments: [
        "io_uring_setup", "io_uring_enter", "io_uring_register", "ptrace", "bpf", "perf_event_open", "userfaultfd",
        "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "open_by_handle_at",
        "process_vm_readv", "process_vm_writev", "unshare", "setns", "mount", "umount2", "pivot_root",
        "socket", "init_module", "finit_module", "reboot", "swapon", "settimeofday", "setuid", "chroot", "mknod",
    ])
    func dangerousCallIsRefused(_ name: String) throws {
        #expect(try verdict(name, [2, 1, 0]) == .errno(1))
    }

    @Test func cloneCannotCreateNamespaces() throws {
        let sigchld: UInt64 = 17
        #expect(try verdict("clone", [sigchld]) == .allow, "fork-style clone")
        #expect(try verdict("clone", [0x3d0f00]) == .allow, "pthread_create's flags")
        for flag: UInt64 in [0x1000_0000, 0x4000_0000, 0x2000_0000, 0x0002_0000, 0x0800_0000, 0x0400_0000, 0x0200_0000] {
            #expect(try verdict("clone", [flag | sigchld]) == .errno(1), "namespace flag 0x\(String(flag, radix: 16))")
        }
    }

    @Test func exceptionsThatCannotBeExpressedAreRefusedNotDropped() throws {
        // default ALLOW, socket refused except AF_UNIX and AF_INET: "(x != 1) and (x != 2)" is two
        // comparisons of one argument in one rule, which libseccomp cannot say. Dropping it would
        // let every other family through; the compiler must refuse instead.
        let text = #"""
        {"version": 1, "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
          {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
          {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
          {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}}
        """#
        let policy = try PolicyReader().parse(Array(text.utf8), file: "deny-list.json")
        #expect(throws: CompileError.self) { _ = try PolicyCompiler.compile(policy.seccomp) }
    }

    @Test func overlappingExceptionsApplyInRuleOrder() throws {
        let text = #"""
        {"version": 1, "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
          {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
          {"names": ["socket"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 0, "value": 17, "op": "SCMP_CMP_EQ"}]},
          {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}]}}
        """#
        let policy = try PolicyReader().parse(Array(text.utf8), file: "overlap.json")
        let program = BPFProgram(try PolicyCompiler.compile(policy.seccomp))
        let socket = try #require(Syscalls.number(of: "socket"))
        #expect(try program.evaluate(nr: socket, arguments: [17, 2, 0]) == .killProcess, "the earlier exception wins")
        #expect(try program.evaluate(nr: socket, arguments: [2, 2, 0]) == .allow)
        #expect(try program.evaluate(nr: socket, arguments: [2, 1, 0]) == .errno(13))
        #expect(FilterPlan(policy.seccomp).decide("socket", arguments: [17, 2, 0]).action == .killProcess)
    }

    @Test func personalityOnlyWithSafeValues() throws {
        #expect(try verdict("personality", [0]) == .allow)
        #expect(try verdict("personality", [0xffff_ffff]) == .allow)
        #expect(try verdict("personality", [0x0040_0000]) == .errno(1), "READ_IMPLIES_EXEC")
        #expect(try verdict("personality", [0x0004_0000]) == .errno(1), "ADDR_NO_RANDOMIZE")
    }

    @Test func socketpairOnlyForLocalPairs() throws {
        #expect(try verdict("socketpair", [1, 1, 0]) == .allow)
        #expect(try verdict("socketpair", [2, 1, 0]) == .errno(1))
    }

    @Test func compiledFilterAgreesWithThePlanOnEverySyscall() throws {
        for policyName in ["default", "strict", "network", "python"] {
            let policy = try PolicyReader().load(policyName)
            let program = BPFProgram(try PolicyCompiler.compile(policy.seccomp))
            let plan = FilterPlan(policy.seccomp)
            let argumentSets: [[UInt64]] = [[], [0, 0x5412, 0], [1, 2, 0], [2, 1, 0], [10, 1, 6], [16, 3, 0], [0xffff_ffff], [0, 0, 0x241]]
            for (nr, name) in Syscalls.names {
                for args in argumentSets {
                    let expected = plan.decide(name, arguments: args).action
                    let actual = try program.evaluate(nr: nr, arguments: args)
                    #expect(Self.same(expected, actual), "\(policyName): \(name)\(args) plan \(expected) filter \(actual)")
                }
            }
        }
    }

    @Test func exceptionsTakePrecedenceOverTheBase() throws {
        let policy = try PolicyReader().load(fixture("exceptions.json"))
        let program = BPFProgram(try PolicyCompiler.compile(policy.seccomp))
        func v(_ name: String, _ args: [UInt64]) throws -> BPFProgram.Verdict {
            try program.evaluate(nr: try #require(Syscalls.number(of: name)), arguments: args)
        }
        #expect(try v("write", [7, 0, 0]) == .errno(5))
        #expect(try v("write", [1, 0, 0]) == .allow)
        #expect(try v("mmap", [0, 4096, 7, 0]) == .killProcess, "PROT_WRITE|PROT_EXEC")
        #expect(try v("mmap", [0, 4096, 3, 0]) == .allow)
        #expect(try v("kill", [1, 0]) == .allow)
        #expect(try v("kill", [1, 9]) == .errno(1))
        #expect(try v("tgkill", [1, 1, 9]) == .trap)
        #expect(try v("uname", [0]) == .log)
    }

    static func same(_ action: SeccompAction, _ verdict: BPFProgram.Verdict) -> Bool {
        switch (action, verdict) {
        case (.allow, .allow), (.killProcess, .killProcess), (.killThread, .killThread), (.trap, .trap), (.log, .log): true
        case (.errno(let a), .errno(let b)): a == b
        default: false
        }
    }
}
