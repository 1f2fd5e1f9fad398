import Confine
import ConfinePolicy
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Isolation beyond syscalls, attacked for real under the shipped `default` policy.
@Suite struct IsolationTests {
    /// A scratch working directory the command's uid may write in.
    func workDirectory() throws -> String {
        let path = "/var/tmp/confine-work-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o1777)
        FileManager.default.createFile(atPath: path + "/present.txt", contents: Data("here\n".utf8))
        return path
    }

    func sh(_ script: String, policy: Policy = Policies.default, cwd: String? = nil) async throws -> CompletedProcess {
        try await Executors.default.execute(Command(["sh", "-c", script], stdin: .null, stdout: .pipe, stderr: .pipe,
                                                    workingDirectory: cwd, policy: policy))
    }

    @Test func shadowIsUnreadableEvenForRootAndWritesStayInTheWorkDirectory() async throws {
        let work = try workDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        // As root (no uid drop), so that only Landlock stands between the command and the file.
        let asRoot = variant(Policies.default) { $0.user = .inherit }
        let shadow = try await sh("cat /etc/shadow", policy: asRoot)
        #expect(shadow.returnCode != 0)
        #expect(shadow.stderr?.text.contains("Permission denied") == true)

        let outside = "/var/tmp/confine-outside-\(UInt32.random(in: 0...UInt32.max))"
        let writes = try await sh("touch \(outside); touch /etc/confine-x; echo made > inside.txt && ls -l", cwd: work)
        #expect(!FileManager.default.fileExists(atPath: outside))
        #expect(!FileManager.default.fileExists(atPath: "/etc/confine-x"))
        #expect(FileManager.default.fileExists(atPath: work + "/inside.txt"))
        // ls -l of the work directory still works, names resolved through /etc/passwd.
        #expect(writes.stdout?.text.contains("present.txt") == true)
        #expect(writes.stdout?.text.contains("inside.txt") == true)
        // Reading outside the allowed paths: the caller's home, the repository.
        let home = try await sh("ls /root; ls \(FileManager.default.currentDirectoryPath)", cwd: work)
        #expect(home.returnCode != 0 && home.stdout?.text.isEmpty == true)
    }

    @Test func noCapabilitiesNoGroupsOwnUid() async throws {
        let result = try await sh("grep -E '^(CapEff|CapPrm|CapBnd|Groups)' /proc/self/status; id -u")
        let text = result.stdout?.text ?? ""
        #expect(text.contains("CapEff:\t0000000000000000"))
        #expect(text.contains("CapPrm:\t0000000000000000"))
        let groups = text.split(separator: "\n").first { $0.hasPrefix("Groups:") }.map { $0.dropFirst(7).trimmingCharacters(in: .whitespaces) }
        #expect(groups == "", "no supplementary groups: \(text)")
        let uid = Int(text.split(separator: "\n").last ?? "") ?? 0
        #expect(uid >= 600_000, "an unprivileged uid of its own, not root")
    }

    @Test func theNetworkIsLoopbackOnlyAndHostAbstractSocketsAreOutOfReach() async throws {
        let devices = try await sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
        #expect(devices.stdout?.text == "lo\n")
        // A host listener on an abstract AF_UNIX address; the policy's seccomp rules allow AF_UNIX
        // sockets here, so only the namespace (and Landlock's scope) keep the command away.
        let name = "confine-test-\(UInt32.random(in: 0...UInt32.max))"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [UInt8](name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i + 1] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + bytes.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        #expect(bound == 0)
        #expect(listen(fd, 4) == 0)
        // The shipped `network` policy allows AF_UNIX sockets; with `network: none` on top.
        let unixAllowed = variant(Policies.load("network")) { $0.isolation.network = .none }
        let script = "import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect('\\0\(name)')\n    print('connected')\nexcept OSError as e:\n    print('refused', e.errno)"
        let result = try await Executors.default.execute(Command(["python3", "-c", script], stdin: .null, stdout: .pipe, stderr: .pipe, policy: unixAllowed))
        #expect(result.stdout?.text.hasPrefix("refused") == true, "\(result.stdout?.text ?? "") \(result.stderr?.text ?? "")")
    }

    /// As root, an executor whose policy asks for a network namespace has it made ahead of each
    /// request (`confine-launch --net`): by each spare monitor of the helper while it waits, or
    /// by `confine run`'s one-shot launcher, started while the request is still prepared.
    /// Attacked in both modes: that namespace is the command's alone (only `lo`, and up; a host
    /// listener on 127.0.0.1 out of reach), the launcher's descriptor of the host's namespace
    /// never reaches the command, and a command whose policy keeps the host's network, sent to
    /// such a launcher, gets the host's again.
    @Test(arguments: [true, false])
    func aNetworkNamespaceMadeAheadIsTheCommandsAloneAndLeavesNothingOfTheHosts(oneShot: Bool) async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        #expect(bound && listen(listener, 8) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let script = """
            import os, socket
            links = [os.readlink('/proc/self/fd/' + f) for f in os.listdir('/proc/self/fd') if os.path.exists('/proc/self/fd/' + f)]
            print('namespace fds', [l for l in links if l.split(':')[0] in ('net', 'mnt', 'pid', 'user', 'ipc', 'uts', 'cgroup')])
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
        func run(_ executor: Executor, _ policy: Policy) async throws -> String {
            let result = try await executor.execute(Command(["python3", "-c", script], stdin: .null, stdout: .pipe, stderr: .pipe, policy: policy))
            return (result.stdout?.text ?? "") + (result.stderr?.text ?? "")
        }
        let network = Policies.load("network")  // the host's network, internet sockets allowed
        let loopbackOnly = variant(network) { $0.isolation.network = .none }

        let ahead = try Executor(policy: loopbackOnly, oneShot: oneShot)
        let own = try await run(ahead, loopbackOnly)
        #expect(own.contains("namespace fds []\n"), "\(own)")
        #expect(own.contains("devices ['lo']\n"), "\(own)")
        #expect(own.contains("loopback up\n"), "\(own)")
        #expect(own.contains("host refused 111\n"), "ECONNREFUSED: nothing listens there in the command's namespace: \(own)")

        // The same kind of launcher (started for a loopback-only policy), a request that keeps
        // the host's network: it returns to the host's namespace first.
        let back = try Executor(policy: loopbackOnly, oneShot: oneShot)
        let host = try await run(back, network)
        #expect(host.contains("namespace fds []\n"), "\(host)")
        #expect(host.contains("host reached\n"), "\(host)")
        #expect(!host.contains("devices ['lo']\n"), "the host's devices: \(host)")
    }

    @Test func aPIDNamespaceHidesAndShieldsEverythingElse() async throws {
        let script = """
            import os, signal
            try:
                os.kill(os.getppid(), 0)
                print('parent reachable')
            except OSError as e:
                print('parent', e.errno)
            try:
                os.kill(1, signal.SIGKILL)
                print('init killed')
            except OSError as e:
                print('init', e.errno)
            print('pids', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
            """
        let result = try await Executors.default.execute(Command(["python3", "-c", script], stdin: .null, stdout: .pipe, stderr: .pipe,
                                                                 policy: Policies.python))
        let text = result.stdout?.text ?? ""
        #expect(text.contains("parent 1\n"), "kill(getppid(), 0) fails with EPERM: \(text) \(result.stderr?.text ?? "")")
        #expect(text.contains("init 1\n"))
        #expect(text.contains("pids [1, 2]"), "only the namespace's init and the command: \(text)")
    }

    @Test func theWholeTreeDiesWithTheCallInsideItsNamespace() async throws {
        let marker = "\(UInt32.random(in: 100_000...999_999)).5"
        let result = try await sh("(setsid sleep \(marker) &) ; echo started")
        #expect(result.stdout?.text == "started\n")
        try await Task.sleep(for: .milliseconds(200))
        let survivors = try String(contentsOfFile: "/proc/loadavg", encoding: .utf8).isEmpty ? [] : processes(matching: marker)
        #expect(survivors.isEmpty, "a setsid grandchild outlived the call: \(survivors)")
    }

    func processes(matching marker: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { pid in
            pid.allSatisfy(\.isNumber) && (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map {
                String(decoding: $0.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(marker)
            } ?? false)
        }
    }

    @Test func memoryIsLimitedAsResidentMemoryNotAddressSpace() async throws {
        // Address space unlimited: a runtime may reserve far more than it touches.
        let policy = variant(Policies.python) {
            $0.rlimits.as = .unlimited
            $0.isolation.memory = 128 << 20
        }
        let reserve = "import mmap\nm = mmap.mmap(-1, 8 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)\nprint('reserved', len(m) >> 30)"
        let reserved = try await Executors.default.execute(Command(["python3", "-c", reserve], stdin: .null, stdout: .pipe, stderr: .pipe, policy: policy))
        #expect(reserved.stdout?.text == "reserved 8\n", "\(reserved.stderr?.text ?? "")")
        let touch = "b = bytearray(512 << 20)\nprint('touched')"
        let hog = try await Executors.default.execute(Command(["python3", "-c", touch], stdin: .null, stdout: .pipe, stderr: .pipe, policy: policy))
        #expect(hog.status == .memoryLimit)
        #expect(hog.oomKilled)
        #expect(hog.returnCode == -SIGKILL)
        #expect((hog.memoryPeak ?? 0) >= 100 << 20 && (hog.memoryPeak ?? 0) <= 129 << 20, "\(hog.memoryPeak ?? -1)")
    }

    @Test func processCountIsCappedForTheWholeTree() async throws {
        let policy = variant(Policies.default) {
            $0.isolation.maxProcesses = 8
            $0.rlimits.nproc = .limited(4096)
        }
        let result = try await sh("for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 5 & done; echo spawned", policy: policy)
        #expect(result.stderr?.text.lowercased().contains("fork") == true, "the 8th process could not be forked: \(result.stderr?.text ?? "")")
    }

    @Test func aLeafReusedByTheNextCommandTakesThatCommandsOwnCap() async throws {
        // A uid's leaf keeps the limits last written to it; each command must still get its own
        // policy's cap, whichever policy ran there before.
        let tight = variant(Policies.default) {
            $0.isolation.maxProcesses = 8
            $0.rlimits.nproc = .limited(4096)
        }
        let loose = variant(tight) { $0.isolation.maxProcesses = 64 }
        let script = "n=0; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 3 & n=$((n+1)); done; echo spawned $n"
        for round in 1...2 {
            let capped = try await sh(script, policy: tight)
            #expect(capped.stderr?.text.lowercased().contains("fork") == true, "round \(round): the 8th process could not be forked")
            let free = try await sh(script, policy: loose)
            #expect(free.stdout?.text == "spawned 20\n" && free.stderr?.text == "", "round \(round): \(free.stderr?.text ?? "")")
        }
    }

    /// The command runs in Confine's leaf of each hierarchy the host has its controllers in: v1
    /// by default here, cgroup v2 for pids and cpu when scripts/test.sh moves them there
    /// (CONFINE_CGROUP_LAYOUT=v2).
    @Test func theCommandRunsInConfinesCgroupLeaves() async throws {
        try #require(geteuid() == 0, "cgroups need root")
        let policy = variant(Policies.default) { $0.isolation.maxProcesses = 16 }
        let result = try await sh("cat /proc/self/cgroup", policy: policy)
        let lines = (result.stdout?.text ?? "").split(separator: "\n").map(String.init)
        if ProcessInfo.processInfo.environment["CONFINE_CGROUP_LAYOUT"] == "v2" {
            #expect(lines.contains { $0.hasPrefix("0::/confine/") }, "a leaf in the v2 hierarchy: \(lines)")
            #expect(!lines.contains { $0.contains(":pids:/confine") }, "\(lines)")
        } else {
            #expect(lines.contains { $0.contains(":pids:/confine/") } && lines.contains { $0.contains(":memory:/confine/") }, "\(lines)")
        }
    }

    @Test func cpuQuotaSlowsASpinner() async throws {
        let policy = variant(Policies.default) { $0.isolation.cpu = 0.2 }
        let result = try await Executors.default.execute(Command(["timeout", "1", "sh", "-c", "while :; do :; done"], stdin: .null,
                                                                 stdout: .pipe, stderr: .pipe, policy: policy))
        let cpu = (result.userTime + result.systemTime).seconds
        #expect(cpu < 0.45, "a 0.2-core quota for 1 s of wall time: \(cpu) s of CPU")
    }

    @Test func multiprocessingRunsUnderThePythonPolicyInADevShmOfItsOwn() async throws {
        // The host's /dev/shm holds a file no command may see; what the command makes there
        // dies with it.
        let work = try workDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let planted = "/dev/shm/confine-host-\(getpid())"
        FileManager.default.createFile(atPath: planted, contents: Data("host\n".utf8))
        defer { unlink(planted) }
        let script = """
            import multiprocessing as mp, concurrent.futures as cf, os
            print(mp.Pool(2).map(abs, [-1, -2]))
            with cf.ProcessPoolExecutor(2) as pool: print(list(pool.map(abs, [-3, -4])))
            q = mp.Queue(); q.put('queued'); print(q.get())
            open('/dev/shm/made-inside', 'w').write('x')
            print(sorted(os.listdir('/dev/shm')))
            """
        let result = try await Executors.python.execute(Command(["python3", "-c", script], stdin: .null, stdout: .pipe, stderr: .pipe,
                                                                 workingDirectory: work))
        #expect(result.stdout?.text == "[1, 2]\n[3, 4]\nqueued\n['made-inside']\n", "\(result.stderr?.text ?? "")")
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm/made-inside"))
    }

    @Test func filesTheCommandWritesRunUnlessThePolicySaysNot() async throws {
        let work = try workDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        // A script and a copied binary, in the private TMPDIR and in the work folder (each run
        // its own names: the folder is sticky, and each run has another uid).
        func script(_ tag: String) -> String {
            """
            printf '#!/bin/sh\\necho ran\\n' > "$TMPDIR/t.sh"; cp /bin/true "$TMPDIR/tool"; chmod +x "$TMPDIR/t.sh" "$TMPDIR/tool"
            printf '#!/bin/sh\\necho ran\\n' > w-\(tag).sh; chmod +x w-\(tag).sh
            "$TMPDIR/t.sh"; echo tmp=$?; "$TMPDIR/tool"; echo tool=$?; ./w-\(tag).sh; echo work=$?
            """
        }
        let allowed = try await sh(script("open"), cwd: work)
        #expect(allowed.stdout?.text == "ran\ntmp=0\ntool=0\nran\nwork=0\n", "\(allowed.stderr?.text ?? "")")
        let closed = variant(Policies.default) { $0.isolation.filesystem?.writableExecutable = false }
        let refused = try await sh(script("closed"), policy: closed, cwd: work)
        #expect(refused.stdout?.text == "tmp=126\ntool=126\nwork=126\n", "\(refused.stderr?.text ?? "")")
        #expect(refused.stderr?.text.components(separatedBy: "Permission denied").count == 4, "\(refused.stderr?.text ?? "")")
        // Still there to read: only execution is withheld.
        #expect(FileManager.default.contents(atPath: work + "/w-closed.sh").map { String(decoding: $0, as: UTF8.self) } == "#!/bin/sh\necho ran\n")
    }

    @Test func missingPathsWarnOrFailWhenRequired() throws {
        let soft = #"{"version": 1, "isolation": {"filesystem": {"readOnly": ["/usr", "/no/such/path"]}}}"#
        let policy = try PolicyReader().parse(Array(soft.utf8), file: "/tmp/soft.json")
        #expect(policy.isolation.filesystem?.readOnly == ["/usr"])
        #expect(policy.warnings.first?.contains("/tmp/soft.json:1: isolation.filesystem.readOnly[1]: '/no/such/path' does not exist") == true,
                "\(policy.warnings)")
        let hard = "{\"version\": 1,\n \"isolation\": {\"required\": true,\n \"filesystem\": {\"readOnly\": [\"/no/such/path\"]}}}"
        #expect(throws: PolicyError.self) { try PolicyReader().parse(Array(hard.utf8), file: "/tmp/hard.json") }
        let conflicting = #"{"version": 1, "isolation": {"filesystem": {"readOnly": ["/usr"], "readWrite": ["/usr"]}}}"#
        do {
            _ = try PolicyReader().parse(Array(conflicting.utf8), file: "/tmp/c.json")
            Issue.record("a path both readOnly and readWrite must be refused")
        } catch let error as PolicyError {
            #expect(error.description.contains("conflicting"))
        }
        let badNetwork = #"{"version": 1, "isolation": {"network": "some"}}"#
        #expect(throws: PolicyError.self) { try PolicyReader().parse(Array(badNetwork.utf8), file: "/tmp/n.json") }
    }

    /// `Command.mounts` (a function's code at /code): a system tree is never replaced, a link
    /// never followed, and a mount is read-only and nosuid unless asked: attacked by a command.
    @Test func mountsShowAFolderReadOnlyAndNeverReplaceTheSystem() async throws {
        try #require(IsolationSupport.mountNamespaces, "as root")
        let work = try workDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        func run(_ script: String, _ mounts: [Command.Mount]) async throws -> CompletedProcess {
            var command = Command(["sh", "-c", script], stdin: .null, stdout: .pipe, stderr: .pipe, workingDirectory: work)
            command.mounts = mounts
            return try await Executors.default.execute(command)
        }
        for (target, source) in [("/etc", work), ("/usr", work), ("/code/sub", work), ("code", work), ("/code", "/var/tmp/../tmp"), ("/code", work + "/present.txt")] {
            await #expect(throws: ConfineError.self, "\(target) <- \(source)") { _ = try await run("true", [Command.Mount(source: source, target: target)]) }
        }
        let shown = try await run("cat /code/present.txt; touch /code/new || echo refused; cd /code && pwd", [Command.Mount(source: work, target: "/code")])
        #expect(shown.stdout?.text == "here\nrefused\n/code\n", "\(shown.stderr?.text ?? "")")
        #expect(!FileManager.default.fileExists(atPath: work + "/new"))
        // The working directory in the source is passed as its place under the target.
        var inside = Command(["pwd"], stdin: .null, stdout: .pipe, stderr: .pipe, workingDirectory: work)
        inside.mounts = [Command.Mount(source: work, target: "/data", writable: true)]
        #expect(try await Executors.default.execute(inside).stdout?.text == "/data\n")
        // Writable: writes land in the source; a set-uid bit does not take (nosuid, and the guard refuses the mode).
        let written = try await run("echo w > /data/w.txt && cp /bin/true /data/t && chmod 4755 /data/t; stat -c %a /data/t", [Command.Mount(source: work, target: "/data", writable: true)])
        #expect(try String(contentsOfFile: work + "/w.txt", encoding: .utf8) == "w\n")
        let mode = try FileManager.default.attributesOfItem(atPath: work + "/t")[.posixPermissions] as? Int
        #expect(mode.map { $0 & 0o6000 } == 0, "\(written.stdout?.text ?? "")")
        // A mount reaches past the folders above it, so a protected file in its source is
        // refused whatever the view: here under a policy with none at all.
        try Data("secret\n".utf8).write(to: URL(fileURLWithPath: work + "/service.json"))
        let guarded = try Executors.default.protecting([work + "/service.json"])
        var viewless = Command(["cat", "/code/service.json"], stdin: .null, stdout: .pipe, stderr: .pipe,
                               policy: variant(Policies.default) { $0.isolation.filesystem = nil })
        viewless.privateWorkingDirectory = true
        viewless.mounts = [Command.Mount(source: work, target: "/code")]
        await #expect(throws: ConfineError.self) { _ = try await guarded.execute(viewless) }
    }

}
