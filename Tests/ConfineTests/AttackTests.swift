import Confine
import ConfinePolicy
import Foundation
import Testing

/// Each pitfall the shipped policies handle (README, "Policies"), attempted for real by `confine-probe` under the shipped
/// `default` policy. The probe prints `refused errno=...` (exit 0) when the attempt failed,
/// `allowed ...` (exit 3) when it got through; a SIGSYS death is a refusal too.
@Suite struct AttackTests {
    /// Runs one attack and returns (return code, first line of stdout).
    static func attempt(_ attack: String, policy: Policy = Policies.default) async throws -> (Int32, String) {
        let result = try await Executors.default.run([probe, attack], stdin: .null, captureOutput: true, policy: policy)
        let line = (result.stdout ?? []).text.split(separator: "\n").first.map(String.init) ?? ""
        return (result.returnCode, line)
    }

    /// The default policy, but run as root: the kernel would allow these calls to root, so
    /// a refusal here is the filter's alone.
    static let asRoot = variant(Policies.default) { $0.user = .inherit }

    static let attacks = [
        "io_uring", "tiocsti", "ptrace", "ptrace-traceme", "bpf", "perf_event_open", "userfaultfd", "keyctl", "kexec",
        "open_by_handle_at", "process_vm_readv", "process_vm_writev", "unshare", "setns", "mount", "umount2",
        "pivot_root", "personality", "socket-inet", "socket-inet6", "socket-netlink", "socket-unix",
        "setuid-root", "chroot", "reboot", "swapon", "init_module", "iopl", "settimeofday", "acct", "mknod-dev",
    ]

    @Test(arguments: attacks)
    func refusedAsTheUnprivilegedUser(_ attack: String) async throws {
        let (code, line) = try await Self.attempt(attack)
        #expect((code == 0 && line.hasPrefix("refused")) || code == -SIGSYS, "\(attack): exit \(code), \(line)")
    }

    @Test(arguments: attacks)
    func refusedByTheFilterAloneEvenForRoot(_ attack: String) async throws {
        try #require(geteuid() == 0, "needs root to take the kernel's own refusals out of the picture")
        let (code, line) = try await Self.attempt(attack, policy: Self.asRoot)
        #expect((code == 0 && line.hasPrefix("refused")) || code == -SIGSYS, "\(attack) as root: exit \(code), \(line)")
    }

    @Test func probeDetectsAnAttackThatGetsThrough() async throws {
        // The control: with no filter the same probe reports success, so "refused" above means something.
        // (Under the caller's own uid: a leased uid's commands get the launcher's set-id guard,
        // which refuses io_uring whatever the policy says.)
        let open = variant(Policies.default) {
            $0.seccomp = SeccompProfile(defaultAction: .allow)
            $0.user = .inherit
        }
        for attack in ["socket-inet", "process_vm_readv", "io_uring"] {
            let (code, line) = try await Self.attempt(attack, policy: open)
            #expect(code == 3 && line.hasPrefix("allowed"), "\(attack) unconfined: exit \(code), \(line)")
        }
    }

    @Test func i386IntEightyIsKilled() async throws {
        let (code, line) = try await Self.attempt("int80")
        #expect(code == -SIGSYS, "int 0x80 got: exit \(code), \(line)")
    }

    @Test func x32CallsAreRefused() async throws {
        let (code, line) = try await Self.attempt("x32", policy: Self.asRoot)
        #expect(code == -SIGSYS || (code == 0 && line.hasPrefix("refused")), "x32: exit \(code), \(line)")
    }

    @Test func clone3AnswersENOSYS() async throws {
        let (code, line) = try await Self.attempt("clone3")
        #expect(code == 0)
        #expect(line.hasPrefix("refused errno=ENOSYS"), "\(line)")
    }

    @Test func safePersonalityValuesStillWork() async throws {
        let (code, line) = try await Self.attempt("personality-safe")
        #expect(code == 0 && line == "ok", "\(line)")
    }

    @Test func concurrentCommandsCannotReachEachOther() async throws {
        // Two commands at once get different uids: one cannot signal the other.
        async let sleeper = Executors.default.run(["sh", "-c", "echo $$; exec sleep 5"], stdin: .null, stdout: .pipe, timeout: .seconds(15))
        var victims: [Int32] = []
        for _ in 0..<100 where victims.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            victims = processes(matching: "sleep 5")
        }
        try #require(!victims.isEmpty, "the victim started")
        let attack = try await Executors.default.run(["sh", "-c", victims.map { "kill -9 \($0) 2>/dev/null && echo killed" }.joined(separator: "; ") + "; true"], captureOutput: true)
        #expect(attack.stdout?.text.contains("killed") == false)
        _ = try? await sleeper
    }

    @Test func rootOnlyDeviceIsOutOfReach() async throws {
        // /dev/userfaultfd is mode 0600 root: the unprivileged uid is what keeps it closed.
        let (code, line) = try await Self.attempt("userfaultfd-dev")
        #expect(code == 0 && line.hasPrefix("refused"), "\(line)")
    }

    @Test func commandRunsUnprivilegedWithNoCapabilities() async throws {
        try #require(geteuid() == 0)
        let output = try await Executors.default.checkOutput([probe, "whoami"]).text
        // A uid of its own from the pool, no supplementary groups.
        let uid = try #require(output.split(separator: " ").first { $0.hasPrefix("uid=") }.flatMap { UInt32($0.dropFirst(4)) })
        #expect(uid >= 600_000 && uid < 600_000 + 256 * 1024, "\(output)")
        #expect(output.contains("gid=\(uid) groups=0"), "\(output)")
        #expect(output.contains("capeff=0000000000000000"))
        #expect(output.contains("nnp=1"))
        #expect(output.contains("seccomp=2"))
    }

    @Test func setuidBinariesGainNothing() async throws {
        // no_new_privs: the setuid bit of su gives nothing, so it cannot become root.
        await #expect(throws: ConfineError.self, "the default policy refuses su outright") {
            _ = try await Executors.default.run(["su", "-c", "id -u"], stdin: .null, captureOutput: true)
        }
        let undenied = variant(Policies.default) { $0.commands.deny = [] }
        let result = try await Executors.default.run(["su", "-c", "id -u"], stdin: .null, captureOutput: true, policy: undenied)
        #expect(result.returnCode != 0)
        #expect(result.stdout?.text.contains("\n0\n") != true && result.stdout?.text != "0\n")
    }
}

@Suite struct LeftoverTests {
    @Test func eachCommandGetsAnEmptyPrivateHome() async throws {
        let executor = try Executor(policy: Policies.default)
        let first = try await executor.checkOutput(["sh", "-c", "echo $HOME; mkdir -p $HOME/.local/lib && touch $HOME/.local/lib/planted.pth $HOME/.profile"]).text
        let home = first.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(home.hasPrefix("/tmp/confine-home"), "\(home)")
        try await Task.sleep(for: .milliseconds(200))  // the cleanup runs in the background
        let second = try await executor.checkOutput(["sh", "-c", "echo $HOME; ls -A $HOME; echo $TMPDIR"]).text
        let lines = second.split(separator: "\n").map(String.init)
        #expect(lines.first == lines.last, "TMPDIR is the private home too")
        #expect(lines.count == 2, "nothing of the first command is left: \(second)")
    }

    @Test func systemVSharedMemoryIsRefused() async throws {
        let result = try await Executors.default.run(["python3", "-c", "import ctypes; print(ctypes.CDLL(None).shmget(0, 4096, 0o1600))"], captureOutput: true,
                                                    policy: Policies.python)
        #expect(result.stdout?.text == "-1\n", "shmget refused: segments would outlive the command")
        #expect(result.refused.contains { $0.name == "shmget" })
    }
}
