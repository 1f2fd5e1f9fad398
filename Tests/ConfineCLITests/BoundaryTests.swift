import Foundation
import Testing

/// The holes around the sandbox, tried by attack through the built CLI: a working directory that
/// would widen the view, learned and imported policies that would lose isolation, `-o` that would
/// replace a device; as root and as an ordinary user.
@Suite struct BoundaryTests {
    let cli = CLITests()
    /// makedev(1, 3): /dev/null's numbers (glibc's makedev is a macro Swift does not import).
    static let nullDevice: dev_t = (1 << 8) | 3

    /// A fresh folder (0755) that a leased uid may enter, outside Confine's own private folders.
    static func project() throws -> String {
        let path = "/var/tmp/boundary-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return path
    }

    @Test(arguments: ["/", "/etc", "/proc", "/home", "/root", "/usr/..", "/opt/../etc"])
    func aWorkingDirectoryOutsideThePolicyIsRefused(_ directory: String) throws {
        let result = try cli.confine(["run", "--cwd", directory, "--", "ls", "-a", "/home"])
        #expect(result.status == 126, "\(directory): \(result.stderr)")
        #expect(result.stdout.isEmpty, "nothing ran: \(result.text)")
        #expect(result.stderr.contains("is not admitted by policy 'default'"))
        #expect(result.stderr.contains("workingDirectories"))
        // default names no rules of its own: the built-in ones are said to be, not a line of a file
        #expect(result.stderr.contains("the built-in rules, as the policy names none") && !result.stderr.contains(".json:"), "\(result.stderr)")
        // the refusal alone: no warning about how a folder that never joins the view would be mounted
        #expect(!result.stderr.contains("warning:"), "\(directory): \(result.stderr)")
    }

    /// A run refused after `confine run` started its launcher (it starts one while it prepares
    /// the request) leaves nothing behind, not even that launcher: each run here has for PID 1 a
    /// process that never reaps an orphan (a Python in a PID namespace of its own that waits for
    /// confine alone), so anything confine left would still be there, a zombie.
    @Test func aRefusedRunLeavesNoLauncherBehind() throws {
        let project = try Self.project()
        defer { try? FileManager.default.removeItem(atPath: project) }
        let script = project + "/orphans.py"
        try Data("""
            import os, subprocess, sys, time
            subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3)
            left = []
            for p in os.listdir('/proc'):
                if p.isdigit() and int(p) != os.getpid():
                    try:
                        stat = open('/proc/%s/stat' % p).read()
                        left.append(stat[stat.index('(') + 1:stat.rindex(')')] + ':' + stat[stat.rindex(')') + 2:].split()[0])
                    except (OSError, ValueError):
                        pass
            print(' '.join(sorted(left)) or 'none')
            """.utf8).write(to: URL(fileURLWithPath: script))
        let runs: [[String]] = [["--rw", "/etc", "--", "true"], ["--cwd", "/", "--", "true"], ["--ro", "/root", "--", "true"],
                                ["--", "no-such-command-here"], ["--", "true"]]
        for run in runs {
            let result = try cli.execute("/usr/bin/unshare", ["-p", "-f", "--mount-proc", "python3", script, CLITests.binary, "run", "-q"] + run,
                                         directory: project)
            #expect(result.text == "none\n", "confine run \(run.joined(separator: " ")) left: \(result.text) \(result.stderr)")
        }
    }

    @Test func theCallersOwnDirectoryIsCheckedToo() throws {
        let result = try cli.execute(CLITests.binary, ["run", "--policy", "strict", "--", "cat", "etc/hostname"], directory: "/")
        #expect(result.status == 126)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("the working directory '/' is not admitted by policy 'strict'"))
    }

    @Test func aSymlinkToTheRootIsResolvedBeforeTheCheck() throws {
        let project = try Self.project()
        defer { try? FileManager.default.removeItem(atPath: project) }
        try FileManager.default.createSymbolicLink(atPath: project + "/up", withDestinationPath: "/")
        let result = try cli.confine(["run", "--cwd", project + "/up", "--", "ls", "home"])
        #expect(result.status == 126)
        #expect(result.stderr.contains("(/)"), "the message names what the link resolves to: \(result.stderr)")
        // The folder itself is admitted, and the command sees it, writable.
        let inside = try cli.confine(["run", "--cwd", project, "--", "sh", "-c", "pwd; ls -a /home 2>&1; true"])
        #expect(inside.status == 0, "\(inside.stderr)")
        #expect(inside.text.hasPrefix(project + "\n"))
        #expect(inside.text.contains("Permission denied"), "/home stays outside the view: \(inside.text)")
    }

    @Test func aPolicyCanNarrowTheWorkingDirectoriesItAdmits() throws {
        let project = try Self.project()
        defer { try? FileManager.default.removeItem(atPath: project) }
        let allowed = project + "/jobs/one", other = project + "/other"
        for folder in [allowed, other] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        let policy = """
            { "version": 1, "include": "default",
              "isolation": { "filesystem": { "readOnly": ["/usr", "/bin", "/lib", "/lib64", "/etc/ld.so.cache"], "workingDirectory": "readOnly",
                                             "workingDirectories": ["\(project)/jobs/*", "!\(project)/jobs/*/secret"] } } }
            """
        try policy.write(toFile: project + "/jobs.json", atomically: true, encoding: .utf8)
        #expect(try cli.confine(["run", "--policy", project + "/jobs.json", "--cwd", allowed, "--", "true"]).status == 0)
        let refused = try cli.confine(["run", "--policy", project + "/jobs.json", "--cwd", other, "--", "true"])
        #expect(refused.status == 126)
        #expect(refused.stderr.contains("none of its rules admits it") && refused.stderr.contains("jobs.json:"), "the rules' own file and line: \(refused.stderr)")
        try FileManager.default.createDirectory(atPath: allowed + "/secret", withIntermediateDirectories: true)
        let secret = try cli.confine(["run", "--policy", project + "/jobs.json", "--cwd", allowed + "/secret", "--", "true"])
        #expect(secret.stderr.contains("its rule '!\(project)/jobs/*/secret' refuses it"), "\(secret.stderr)")
        let bad = try cli.confine(["run", "--policy", project + "/jobs.json", "--cwd", allowed, "--", "true"])
        #expect(bad.status == 0)
        try policy.replacingOccurrences(of: "\(project)/jobs/*\"", with: "jobs/*\"").write(toFile: project + "/bad.json", atomically: true, encoding: .utf8)
        let relative = try cli.confine(["run", "--policy", project + "/bad.json", "--", "true"])
        #expect(relative.status == 2)
        #expect(relative.stderr.contains("isolation.filesystem.workingDirectories[0]"), "\(relative.stderr)")
    }

    @Test func aLearnedPolicyKeepsTheBasesIsolation() throws {
        let project = try Self.project()
        defer { try? FileManager.default.removeItem(atPath: project) }
        let learn = try cli.confine(["policy", "learn", "-o", project + "/ls.json", "--", "ls", "-l"])
        #expect(learn.status == 0, "\(learn.stderr)")
        #expect(learn.stderr.contains("keeps the isolation of base"))
        let home = try cli.confine(["run", "--policy", project + "/ls.json", "--cwd", project, "--", "ls", "/home"])
        #expect(home.status != 0)
        #expect(home.stderr.contains("Permission denied"), "the learned policy of ls -l cannot list /home: \(home.text)")
        let pids = try cli.confine(["run", "--policy", project + "/ls.json", "--cwd", project, "--", "ls", "/proc"])
        let numeric = pids.text.split(separator: "\n").filter { $0.allSatisfy(\.isNumber) }
        #expect(numeric.count <= 3, "a PID namespace: only its own processes, not the host's \(numeric.count)")
        let audit = try cli.confine(["audit", project + "/ls.json"])
        // No finding of isolation left out (writableExecutable and required: false are choices
        // the base makes, not gaps).
        let gaps = audit.text.split(separator: "\n").filter { $0.contains("isolation.") && !$0.contains("writableExecutable") && !$0.contains("isolation.required") }
        #expect(gaps.isEmpty, "no isolation finding: \(audit.text)")
        // Asked for, it goes: and the audit says so.
        let bare = try cli.confine(["policy", "learn", "--without-isolation", "-o", project + "/bare.json", "--", "true"])
        #expect(bare.status == 0, "\(bare.stderr)")
        #expect(try cli.confine(["audit", project + "/bare.json"]).text.contains("no filesystem view"))
    }

    @Test func anImportedProfileKeepsTheBasesIsolation() throws {
        let project = try Self.project()
        defer { try? FileManager.default.removeItem(atPath: project) }
        let result = try cli.confine(["policy", "import", CLITests.fixtures + "/docker-default.json", "-o", project + "/docker.json"])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOfFile: project + "/docker.json", encoding: .utf8)
        #expect(text.contains("\"isolation\""))
        #expect(try cli.confine(["run", "--policy", project + "/docker.json", "--cwd", project, "--", "ls", "/home"]).status != 0)
    }

    @Test func dashOLeavesADeviceADeviceAndFollowsASymlink() throws {
        let project = try Self.project()
        defer { try? FileManager.default.removeItem(atPath: project) }
        let device = project + "/null"
        #expect(mknod(device, S_IFCHR | 0o666, BoundaryTests.nullDevice) == 0, "mknod needs root")
        for arguments in [["policy", "import", CLITests.fixtures + "/docker-default.json", "-o", device],
                          ["policy", "learn", "-o", device, "--", "true"]] {
            let result = try cli.confine(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            var info = stat()
            #expect(lstat(device, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFCHR, "\(arguments[1]) -o kept the character device")
            #expect(info.st_rdev == BoundaryTests.nullDevice)
        }
        let target = project + "/real.json", link = project + "/link.json"
        try "old".write(toFile: target, atomically: true, encoding: .utf8)
        chmod(target, 0o640)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(try cli.confine(["policy", "import", CLITests.fixtures + "/docker-default.json", "-o", link]).status == 0)
        var info = stat()
        #expect(lstat(link, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK, "the link is still a link")
        #expect(stat(target, &info) == 0 && info.st_mode & 0o777 == 0o640, "the target keeps its mode")
        #expect(try String(contentsOfFile: target, encoding: .utf8).contains("\"seccomp\""))
        let directory = try cli.confine(["policy", "import", CLITests.fixtures + "/docker-default.json", "-o", project])
        #expect(directory.status == 2)
        #expect(directory.stderr.contains("is a directory"))
    }

    @Test func dashOToStandardOutputWritesThroughAPipe() throws {
        // The test's stdout is a pipe: /dev/stdout links to pipe:[N], which realpath cannot resolve.
        let result = try cli.confine(["policy", "import", CLITests.fixtures + "/docker-default.json", "-o", "/dev/stdout"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.text.contains("\"seccomp\""))
    }

    @Test func diffComparesIsolationAndCommandsBySemantics() throws {
        let narrower = try cli.confine(["policy", "diff", "default", "strict"])
        #expect(narrower.status == 0, "strict is narrower than default everywhere: \(narrower.text)")
        #expect(!narrower.text.contains("no longer denies"))
        let network = try cli.confine(["policy", "diff", "default", "network"])
        #expect(network.status == 1)
        #expect(network.text.contains("+ isolation.network: none -> host"))
    }

    // MARK: as an ordinary user

    /// Runs the CLI as an unprivileged user from a copy of the binaries in a folder it can read.
    /// (`directory` nil: the folder of the copies, which holds the attack probe too.)
    func asOrdinaryUser(_ arguments: [String], in directory: String?, policies extra: [String: String] = [:]) throws -> CLITests.Output {
        let user = "confine-boundary"
        if getpwnam(user) == nil {
            let add = Process()
            add.executableURL = URL(fileURLWithPath: "/usr/sbin/useradd")
            add.arguments = ["-m", user]
            try add.run()
            add.waitUntilExit()
        }
        let bin = try Self.project()
        let build = URL(fileURLWithPath: CLITests.binary).deletingLastPathComponent().path
        for name in ["confine", "confine-launch", "ConfineProbe"] where FileManager.default.fileExists(atPath: build + "/" + name) {
            try FileManager.default.copyItem(atPath: build + "/" + name, toPath: bin + "/" + name)
        }
        try FileManager.default.copyItem(atPath: CLITests.fixtures + "/../../../policies", toPath: bin + "/policies")
        for (name, text) in extra { try Data(text.utf8).write(to: URL(fileURLWithPath: bin + "/policies/\(name).json")) }
        defer { try? FileManager.default.removeItem(atPath: bin) }
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return try cli.execute("/bin/su", [user, "-s", "/bin/sh", "-c", "cd '\(directory ?? bin)' && CONFINE_POLICY_PATH=\(bin)/policies \(bin)/confine \(quoted)"])
    }

    /// The escape suite as an ordinary user: every attack of the probe refused under the
    /// shipped `default`, as it is for root's leased uids; and the namespaces a user namespace
    /// now gives (where this host lets a user make one): its own network with loopback only, its
    /// own processes, a read-only view, nothing mounted, nobody's files but its own.
    @Test func theEscapeSuitePassesAsAnOrdinaryUser() throws {
        let attacks = ["io_uring", "tiocsti", "ptrace", "ptrace-traceme", "bpf", "perf_event_open", "userfaultfd", "keyctl", "kexec",
                       "open_by_handle_at", "process_vm_readv", "process_vm_writev", "unshare", "setns", "mount", "umount2",
                       "pivot_root", "personality", "socket-inet", "socket-inet6", "socket-netlink", "socket-unix",
                       "setuid-root", "chroot", "reboot", "swapon", "init_module", "iopl", "settimeofday", "acct", "mknod-dev"]
        let loop = "for a in \(attacks.joined(separator: " ")); do r=$(./ConfineProbe $a 2>/dev/null | head -1); echo \"$a $r\"; done"
        let suite = try asOrdinaryUser(["run", "-q", "--", "sh", "-c", loop], in: nil)
        let lines = suite.text.split(separator: "\n").map(String.init)
        #expect(lines.count == attacks.count, "\(suite.stderr)")
        for line in lines {
            let words = line.split(separator: " ", maxSplits: 1).map(String.init)
            // a refusal, or the probe killed by SIGSYS (it printed nothing)
            #expect(words.count < 2 || words[1].hasPrefix("refused"), "\(line)")
        }
        let script = ["tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' '; echo", "ps -e -o pid= | wc -l",
                      "touch /usr/confine-x 2>/dev/null && echo wrote-usr || echo usr-read-only",
                      "cat /etc/shadow 2>/dev/null && echo shadow || echo no-shadow"].joined(separator: "\n")
        let namespaces = try asOrdinaryUser(["run", "-q", "--json", "--", "sh", "-c", script], in: nil)
        #expect(namespaces.status == 0, "\(namespaces.stderr)")
        let record = (try? JSONSerialization.jsonObject(with: Data(namespaces.text.utf8))) as? [String: Any] ?? [:]
        let out = (record["stdout"] as? String).flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let said = out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        if IsolationSupportProbe.userNamespacesForOthers {
            #expect(said.first == "lo", "only loopback: \(out)")
            #expect(Int(said.dropFirst().first ?? "") ?? 99 <= 5, "only its own processes (init, sh, ps, wc): \(out)")
        }
        #expect(said.contains("usr-read-only") && said.contains("no-shadow"), "\(out)")
    }

    /// An ordinary user's `confine run` makes the command's user namespace, and the network
    /// namespace in it, in its launcher while the request is prepared. Attacked: that network
    /// namespace is the command's alone (no namespace descriptor of the launcher's reaches it,
    /// only `lo`, and up; a listener of the host's on 127.0.0.1 is out of reach), and a policy
    /// that keeps the host's network still gets the host's (a user namespace made ahead, no
    /// network namespace), reaching that same listener.
    @Test func anOrdinaryUsersNetworkNamespaceMadeAheadIsTheCommandsAlone() throws {
        try #require(IsolationSupportProbe.userNamespacesForOthers, "this host lets an ordinary user make a user namespace")
        let (listener, port) = Loopback.bound()
        defer { if listener >= 0 { close(listener) } }
        #expect(listener >= 0 && listen(listener, 8) == 0)
        let script = """
            import os, socket
            links = [os.readlink('/proc/self/fd/' + f) for f in os.listdir('/proc/self/fd') if os.path.exists('/proc/self/fd/' + f)]
            print('namespace fds', [l for l in links if l.split(':')[0] in ('net', 'mnt', 'pid', 'user', 'ipc', 'uts', 'cgroup')])
            print('uid map', ' '.join(open('/proc/self/uid_map').read().split()))
            print('devices', sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').read().splitlines()[2:]))
            s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
            socket.create_connection(s.getsockname(), timeout=2).close()
            print('loopback up')
            try:
                socket.create_connection(('127.0.0.1', \(port)), timeout=2).close()
                print('host reached')
            except OSError as e:
                print('host refused', e.errno)
            """
        let loopbackOnly = #"{"version": 1, "include": "network", "isolation": {"network": "none"}}"#
        let own = try asOrdinaryUser(["run", "-q", "--policy", "loopback", "--", "python3", "-c", script], in: nil, policies: ["loopback": loopbackOnly])
        let account = try #require(getpwnam("confine-boundary"))
        #expect(own.status == 0, "\(own.stderr)")
        #expect(own.text.contains("namespace fds []\n"), "\(own.text)")
        #expect(own.text.contains("uid map \(account.pointee.pw_uid) \(account.pointee.pw_uid) 1\n"), "its own uid, mapped to itself only: \(own.text)")
        #expect(own.text.contains("devices ['lo']\n"), "\(own.text)")
        #expect(own.text.contains("loopback up\n"), "\(own.text)")
        #expect(own.text.contains("host refused 111\n"), "ECONNREFUSED: nothing listens there in the command's namespace: \(own.text)")
        let host = try asOrdinaryUser(["run", "-q", "--policy", "network", "--", "python3", "-c", script], in: nil)
        #expect(host.status == 0, "\(host.stderr)")
        #expect(host.text.contains("namespace fds []\n") && host.text.contains("host reached\n"), "\(host.text)")
        #expect(!host.text.contains("devices ['lo']\n"), "the host's devices: \(host.text)")
    }

    /// The warnings an ordinary user gets on every run (no namespaces, no cgroups without
    /// root) can be acknowledged: `--quiet` for one run, CONFINE_QUIET=1 for all; errors still print.
    @Test func anOrdinaryUserCanSilenceTheWarningsButNotTheErrors() throws {
        let home = "/var/tmp/confine-quiet-\(getpid())"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        chmod(home, 0o755)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let loud = try asOrdinaryUser(["run", "--", "echo", "hi"], in: home)
        #expect(loud.status == 0 && loud.text == "hi\n" && loud.stderr.contains("confine: warning:"), "\(loud.stderr)")
        let quiet = try asOrdinaryUser(["run", "--quiet", "--", "echo", "hi"], in: home)
        #expect(quiet.status == 0 && quiet.text == "hi\n" && quiet.stderr.isEmpty, "\(quiet.stderr)")
        let short = try asOrdinaryUser(["run", "-q", "--", "echo", "hi"], in: home)
        #expect(short.stderr.isEmpty, "\(short.stderr)")
        let refused = try asOrdinaryUser(["run", "-q", "--cwd", "/", "--", "true"], in: home)
        #expect(refused.status == 126 && refused.stderr.hasPrefix("confine: ") && !refused.stderr.contains("warning"), "\(refused.stderr)")
    }

    /// `confine doctor` as an ordinary user: what the host offers (no cgroups without root),
    /// what each policy gets, and exit 1 when a policy marked required would not start.
    @Test func doctorSaysWhatThisHostGivesAndFailsForARequiredPolicyItCannotServe() throws {
        let plain = try asOrdinaryUser(["doctor"], in: nil)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.text.contains("missing cgroups") && plain.text.contains("fix: run Confine as root"), "\(plain.text)")
        #expect(plain.text.contains("ok      landlock") && plain.text.contains("partial default"), "\(plain.text)")
        let required = #"{"version": 1, "include": "default", "isolation": {"required": true, "memory": "256MiB"}}"#
        let failing = try asOrdinaryUser(["doctor", "--json"], in: nil, policies: ["capped": required])
        #expect(failing.status == 1, "\(failing.stderr)")
        let object = (try? JSONSerialization.jsonObject(with: Data(failing.text.utf8))) as? [String: Any] ?? [:]
        let capped = (object["policies"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "capped" }
        #expect(capped?["wouldFail"] as? Bool == true && (capped?["error"] as? String ?? "").contains("cgroup"), "\(failing.text)")
        let ids = (object["parts"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(ids == ["seccomp.notify", "landlock", "namespaces", "cgroups"], "\(ids)")
        // as root: the idmapped-mount check of the working directory too
        let asRoot = try cli.confine(["doctor", "--json"])
        let rootObject = (try? JSONSerialization.jsonObject(with: Data(asRoot.text.utf8))) as? [String: Any] ?? [:]
        #expect(rootObject["root"] as? Bool == true && (rootObject["parts"] as? [[String: Any]] ?? []).contains { $0["id"] as? String == "idmap" }, "\(asRoot.text)")
        // a folder below one that admits no other user: the check says the command cannot get
        // there (confine run exits 126 there), not that the folder can be mounted
        let closed = "/var/tmp/confine-closed-\(getpid())"
        try FileManager.default.createDirectory(atPath: closed + "/project", withIntermediateDirectories: true)
        chmod(closed, 0o700)
        chmod(closed + "/project", 0o755)
        defer { try? FileManager.default.removeItem(atPath: closed) }
        let below = try cli.confine(["doctor", "--cwd", closed + "/project"])
        #expect(below.text.contains("\(closed) (mode 700) admits no other user") && !below.text.contains("can be mounted idmapped"), "\(below.text)")
        let refused = try cli.execute(CLITests.binary, ["run", "--", "true"], directory: closed + "/project")
        #expect(refused.status == 126 && refused.stderr.contains("cannot enter the working directory"), "what the doctor said: \(refused.stderr)")
    }

    /// Under a policy with no isolation at all, a command of an ordinary user (its own uid) still
    /// cannot signal anything outside its Landlock domain: not its monitor, not the user's
    /// other processes (scopes alone, Landlock ABI 6+).
    @Test func aCommandWithoutIsolationCannotSignalTheUsersProcesses() throws {
        let open = #"{"version": 1, "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}"#
        let result = try asOrdinaryUser(["run", "-q", "--policy", "open", "--", "sh", "-c", "kill -CONT $PPID 2>/dev/null && echo reached || echo refused"],
                                        in: nil, policies: ["open": open])
        #expect(result.status == 0 && result.text == "refused\n", "\(result.text) \(result.stderr)")
    }

    @Test func anOrdinaryUserCannotWidenTheViewEither() throws {
        let root = try asOrdinaryUser(["run", "--cwd", "/", "--", "ls", "/home"], in: "/tmp")
        #expect(root.status == 126, "\(root.stderr)")
        #expect(root.stdout.isEmpty)
        let fromSlash = try asOrdinaryUser(["run", "--", "ls", "home"], in: "/")
        #expect(fromSlash.status == 126, "\(fromSlash.stderr)")
        let home = try asOrdinaryUser(["run", "--cwd", "/home", "--", "ls"], in: "/tmp")
        #expect(home.status == 126, "\(home.stderr)")
    }
}

/// Whether an ordinary user may make user namespaces on this host (tried as that user with
/// util-linux's unshare): where not, the namespace claims are not checked, only the filter's
/// and Landlock's.
enum IsolationSupportProbe {
    static let userNamespacesForOthers: Bool = {
        let su = Process()
        su.executableURL = URL(fileURLWithPath: "/bin/su")
        su.arguments = ["confine-boundary", "-s", "/bin/sh", "-c", "unshare --user --map-current-user --net --mount true"]
        su.standardError = FileHandle.nullDevice
        su.standardOutput = FileHandle.nullDevice
        do { try su.run() } catch { return false }
        su.waitUntilExit()
        return su.terminationStatus == 0
    }()
}
