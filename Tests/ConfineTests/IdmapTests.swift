import Confine
import ConfinePolicy
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A leased uid writing in a folder it does not own: the folder is shown to it as its owner's
/// (an idmapped mount), and every way of leaving a set-uid, set-gid, device or capability file
/// there is attacked — seen afterwards from the host. Root only: without root there is no
/// leased uid (the command runs as the caller, who owns what it writes).
@Suite(.enabled(if: geteuid() == 0)) struct IdmapTests {
    /// `confine run`'s executors: the working directory is the command's own.
    static let asOwner = try? Executors.default.writingAsWorkingDirectoryOwner()
    static let pythonAsOwner = try? Executors.python.writingAsWorkingDirectoryOwner()

    /// A folder as an administrator makes one: root's, 0755.
    func rootFolder(_ name: String, mode: mode_t = 0o755) throws -> String {
        let path = "/var/tmp/confine-idmap-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chown(path, 0, 0)
        chmod(path, mode)
        return path
    }

    /// A copy of /usr/bin/true at `path` with these ids and mode, as root can plant one.
    func plant(_ path: String, uid: uid_t = 0, gid: gid_t = 0, mode: mode_t) throws {
        try FileManager.default.copyItem(atPath: "/usr/bin/true", toPath: path)
        chown(path, uid, gid)
        chmod(path, mode)
    }

    func run(_ argv: [String], in folder: String, policy: Policy = Policies.python, executor: Executor? = nil) async throws -> CompletedProcess {
        let chosen = try #require(executor ?? (policy.name == "default" ? Self.asOwner : Self.pythonAsOwner))
        return try await chosen.execute(Command(argv, stdin: .null, stdout: .pipe, stderr: .pipe, workingDirectory: folder, policy: policy))
    }

    /// Every entry of `folder` (recursively) with its mode and whether it carries a file
    /// capability (read on the host by Python's os.getxattr).
    func entries(_ folder: String) throws -> [(path: String, mode: mode_t, uid: uid_t, capability: Bool)] {
        let lister = Process()
        lister.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        lister.arguments = ["-c", """
            import os, sys
            for top, dirs, files in os.walk(sys.argv[1]):
                for name in dirs + files:
                    path = os.path.join(top, name)
                    try:
                        os.getxattr(path, 'security.capability', follow_symlinks=False)
                        print(path)
                    except OSError:
                        pass
            """, folder]
        let pipe = Pipe()
        lister.standardOutput = pipe
        try lister.run()
        let withCapability = Set(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").map(String.init))
        lister.waitUntilExit()
        var found: [(String, mode_t, uid_t, Bool)] = []
        for name in (try? FileManager.default.subpathsOfDirectory(atPath: folder)) ?? [] {
            let path = folder + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            found.append((path, info.st_mode, info.st_uid, withCapability.contains(path)))
        }
        return found
    }

    @Test func aRootOwnedFolderTakesWritesAndWhatIsMadeThereIsRoots() async throws {
        let folder = try rootFolder("write")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try await run(["sh", "-c", "echo hi > out.txt && mkdir sub && echo there > sub/f && id -u"], in: folder, policy: Policies.default)
        #expect(result.status == .ok, "\(result.stderr?.text ?? "")")
        let uid = Int(result.stdout?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        #expect(uid >= 600_000, "the command ran as a leased uid, not as root: \(uid)")
        #expect((try? String(contentsOfFile: folder + "/out.txt", encoding: .utf8)) == "hi\n")
        for entry in try entries(folder) {
            #expect(entry.uid == 0, "\(entry.path) is owned by the folder's owner, root, on disk: \(entry.uid)")
        }
    }

    /// A policy's own readWrite folder (root's, 0755) takes the command's writes too, from any
    /// executor (the policy's author made it writable), as root's on disk; set-uid stays out.
    @Test func aPolicysReadWriteFolderTakesWritesAsItsOwner() async throws {
        let data = try rootFolder("policy-rw")
        let elsewhere = try rootFolder("policy-rw-cwd")
        defer { for path in [data, elsewhere] { try? FileManager.default.removeItem(atPath: path) } }
        let policy = variant(Policies.default) { $0.isolation.filesystem?.readWrite = [data] }
        var command = Command(
            ["sh", "-c", "echo hi > \(data)/out.txt && mkdir \(data)/sub && cp /bin/true \(data)/t && chmod 4755 \(data)/t; echo > \(elsewhere)/no"],
            stdin: .null, stdout: .pipe, stderr: .pipe, policy: policy)
        command.privateWorkingDirectory = true
        let result = try await Executors.default.execute(command)
        #expect((try? String(contentsOfFile: data + "/out.txt", encoding: .utf8)) == "hi\n", "\(result.stderr?.text ?? "")")
        #expect(!FileManager.default.fileExists(atPath: elsewhere + "/no"), "only the policy's folder")
        for entry in try entries(data) {
            #expect(entry.uid == 0 && entry.mode & 0o6000 == 0, "\(entry.path): uid \(entry.uid) mode \(String(entry.mode, radix: 8))")
        }
    }

    @Test func aRootFolderInsideAnotherUsersFolderIsNotMappedForThatUserCouldSwapItIn() async throws {
        // uid 4242 owns the folder above: it could rename another folder of root's into the
        // path between the check and the launch, so none below it is mapped as root.
        let parent = try rootFolder("swap")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        chown(parent, 4242, 4242)
        let folder = parent + "/project"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        chmod(folder, 0o755)
        let executor = try #require(Self.asOwner)
        let warnings = executor.warnings(forWorkingDirectory: folder)
        #expect(warnings.first?.contains("\(parent), above \(folder), belongs to uid 4242") == true, "\(warnings)")
        let result = try await run(["sh", "-c", "echo hi > out.txt || echo refused"], in: folder, policy: Policies.default)
        #expect(result.stdout?.text == "refused\n" && !FileManager.default.fileExists(atPath: folder + "/out.txt"))
        // Its own folder there is mapped as its own (uid 4242 gains nothing it did not have).
        chown(folder, 4242, 4242)
        #expect(executor.warnings(forWorkingDirectory: folder).isEmpty)
        // A group-writable folder above, not sticky: refused too.
        chown(parent, 0, 0)
        chmod(parent, 0o775)
        chown(folder, 0, 0)
        #expect(executor.warnings(forWorkingDirectory: folder).first?.contains("may be written by others") == true)
    }

    @Test func aFolderAskedForThroughALinkIsNotMapped() async throws {
        // Resolving a link (which its folder's owner may point anywhere, at any moment) could
        // land in a folder of root's whose own path passes every check: only a folder asked for
        // by its own path is mapped (third review).
        let folder = try rootFolder("linked")
        let link = folder + "-link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: folder)
        defer {
            try? FileManager.default.removeItem(atPath: link)
            try? FileManager.default.removeItem(atPath: folder)
        }
        let through = try await run(["sh", "-c", "echo hi > out.txt || echo refused"], in: link, policy: Policies.default)
        #expect(through.stdout?.text == "refused\n" && !FileManager.default.fileExists(atPath: folder + "/out.txt"))
        let direct = try await run(["sh", "-c", "echo hi > out.txt && echo wrote"], in: folder, policy: Policies.default)
        #expect(direct.stdout?.text == "wrote\n", "\(direct.stderr?.text ?? "")")
    }

    @Test func aFolderOfSomeoneWithGroupRootDoesNotGiveTheCommandRootsGroup() async throws {
        // mkdir as root, then chown someone: the group stays root's, which its owner lacks.
        let folder = try rootFolder("group")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        chown(folder, 4243, 0)
        FileManager.default.createFile(atPath: folder + "/cfg", contents: Data("root group only\n".utf8))
        chown(folder + "/cfg", 0, 0)
        chmod(folder + "/cfg", 0o640)
        let result = try await run(["sh", "-c", "cat cfg || echo unreadable; echo made > new.txt && echo wrote"], in: folder, policy: Policies.default)
        #expect(result.stdout?.text == "unreadable\nwrote\n", "\(result.stderr?.text ?? "")")
        var info = stat()
        #expect(stat(folder + "/new.txt", &info) == 0 && info.st_uid == 4243 && info.st_gid == 4243, "the owner's, with the owner's own group number")
    }

    @Test func noSetIDDeviceOrCapabilityFileCanBeLeftInTheFolder() async throws {
        let folder = try rootFolder("setid")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let python = """
            import os, stat
            out = {}
            def attempt(name, call):
                try:
                    call()
                    out[name] = 'done'
                except OSError as e:
                    out[name] = e.errno
            with open('plain', 'w') as f:
                f.write('x')
            attempt('chmod 4755', lambda: os.chmod('plain', 0o4755))
            attempt('chmod 2755', lambda: os.chmod('plain', 0o2755))
            fd = os.open('plain', os.O_RDONLY)
            attempt('fchmod 6755', lambda: os.fchmod(fd, 0o6755))
            attempt('open O_CREAT 04755', lambda: os.close(os.open('made-suid', os.O_CREAT | os.O_WRONLY, 0o4755)))
            attempt('open O_CREAT 02755', lambda: os.close(os.open('made-sgid', os.O_CREAT | os.O_WRONLY, 0o2755)))
            attempt('mknod S_IFREG|04755', lambda: os.mknod('node-suid', stat.S_IFREG | 0o4755))
            attempt('mknod char device', lambda: os.mknod('node-dev', stat.S_IFCHR | 0o666, os.makedev(1, 3)))
            attempt('setxattr security.capability', lambda: os.setxattr('plain', 'security.capability',
                    bytes([0, 0, 0, 2, 0, 0x20, 0, 0]) + bytes(12)))
            print(sorted(out.items()))
            """
        let attacks = try await run(["python3", "-c", python], in: folder)
        #expect(attacks.status == .ok, "\(attacks.stderr?.text ?? "")")
        let text = attacks.stdout?.text ?? ""
        #expect(text.hasPrefix("[('chmod 2755', ") && !text.contains("'done'"), "every attempt refused: \(text)")
        let shell = "cp /bin/true t1; chmod u+s t1; chmod g+s t1; chmod 6755 t1; install -m 4755 /bin/true t2; install -m 2755 /bin/true t3; "
            + "cp -p /usr/bin/passwd t4; ls -l; true"
        let tools = try await run(["sh", "-c", shell], in: folder, policy: Policies.default)
        #expect(tools.status == .ok, "\(tools.stderr?.text ?? "")")
        let seen = try entries(folder)
        #expect(seen.contains { $0.path.hasSuffix("/t1") }, "the command could write the folder at all: \(tools.stdout?.text ?? "") \(tools.stderr?.text ?? "")")
        for entry in seen {
            #expect(entry.mode & 0o6000 == 0, "\(entry.path) has set-id bits: \(String(entry.mode, radix: 8))")
            #expect(entry.mode & S_IFMT != S_IFCHR && entry.mode & S_IFMT != S_IFBLK, "\(entry.path) is a device")
            #expect(!entry.capability, "\(entry.path) carries a file capability")
        }
    }

    @Test func anotherUsersFileInTheFolderStaysAsItsPermissionsSay() async throws {
        let folder = try rootFolder("others")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let theirs = folder + "/theirs.txt"
        try Data("theirs\n".utf8).write(to: URL(fileURLWithPath: theirs))
        chown(theirs, 1234, 1234)
        chmod(theirs, 0o644)
        let result = try await run(["sh", "-c", "cat theirs.txt; echo mine >> theirs.txt || echo refused; chmod 666 theirs.txt || echo kept"], in: folder,
                                   policy: Policies.default)
        #expect(result.stdout?.text == "theirs\nrefused\nkept\n", "\(result.stdout?.text ?? "") \(result.stderr?.text ?? "")")
        #expect((try? String(contentsOfFile: theirs, encoding: .utf8)) == "theirs\n")
    }

    @Test func aFolderEveryoneMayWriteIsNotMadeTheCommandsOwn() async throws {
        // Mapping /tmp's owner (root) to the command would let it delete anyone's file there
        // (the sticky bit spares the folder's owner): an o+w folder keeps its plain view.
        let folder = try rootFolder("sticky", mode: 0o1777)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let rootsFile = folder + "/roots.txt"
        try Data("root\n".utf8).write(to: URL(fileURLWithPath: rootsFile))
        chmod(rootsFile, 0o644)
        let result = try await run(["sh", "-c", "rm -f roots.txt || echo refused; echo new > mine.txt && echo wrote"], in: folder,
                                   policy: Policies.default)
        #expect(result.stdout?.text == "refused\nwrote\n", "\(result.stdout?.text ?? "") \(result.stderr?.text ?? "")")
        #expect(FileManager.default.fileExists(atPath: rootsFile))
    }

    @Test func aPolicyThatAllowsEveryModeCallStillCannotLeaveASetIDFileThere() async throws {
        // The launcher's own filter comes with the idmapped folder, whatever the policy allows.
        var lax = Policies.python
        lax.name = "lax"
        lax.seccomp.syscalls.append(SyscallRule(names: ["mknod", "mknodat", "openat2", "io_uring_setup", "chmod", "fchmodat", "openat"], action: .allow))
        let executor = try Executor(policy: lax).writingAsWorkingDirectoryOwner()
        let folder = try rootFolder("lax")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let python = """
            import ctypes, os, stat
            out = []
            def attempt(name, call):
                try:
                    call()
                    out.append((name, 'done'))
                except OSError as e:
                    out.append((name, e.errno))
            attempt('write', lambda: open('plain', 'w').write('x'))
            attempt('mkfifo', lambda: os.mkfifo('pipe'))
            attempt('chmod 4755', lambda: os.chmod('plain', 0o4755))
            attempt('mknod S_IFREG|02755', lambda: os.mknod('node', stat.S_IFREG | 0o2755))
            attempt('mknod block device', lambda: os.mknod('disk', stat.S_IFBLK | 0o666, os.makedev(8, 0)))
            libc = ctypes.CDLL(None, use_errno=True)
            how = (ctypes.c_uint64 * 3)(os.O_CREAT | os.O_WRONLY, 0o4755, 0)
            fd = libc.syscall(437, -100, b'via-openat2', ctypes.byref(how), 24)
            out.append(('openat2', 'done' if fd >= 0 else ctypes.get_errno()))
            print(out)
            """
        let result = try await run(["python3", "-c", python], in: folder, policy: lax, executor: executor)
        #expect(result.stdout?.text == "[('write', 'done'), ('mkfifo', 'done'), ('chmod 4755', 1), ('mknod S_IFREG|02755', 1), ('mknod block device', 1), ('openat2', 38)]\n",
                "\(result.stdout?.text ?? "") \(result.stderr?.text ?? "")")
        for entry in try entries(folder) {
            #expect(entry.mode & 0o6000 == 0 && entry.mode & S_IFMT != S_IFBLK, "\(entry.path): \(String(entry.mode, radix: 8))")
        }
    }

    @Test func withoutBeingAskedTheExecutorKeepsTheFoldersPermissions() async throws {
        // A service's executor (or any that does not ask) runs commands in a root 0755 folder
        // as before: the leased uid cannot write there.
        let folder = try rootFolder("plain")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try await run(["sh", "-c", "echo hi > out.txt || echo refused"], in: folder, policy: Policies.default, executor: Executors.default)
        #expect(result.stdout?.text == "refused\n", "\(result.stdout?.text ?? "") \(result.stderr?.text ?? "")")
    }

    @Test func aFolderHoldingItsOwnersSetUIDFileIsNotMappedSoAMappedRewriteCannotKeepTheBit() async throws {
        // Rewriting a set-uid file through a shared mapping keeps the bit (a write(2) clears
        // it): such a folder would hand its owner's identity to the command's code.
        let folder = try rootFolder("suid")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/bin", withIntermediateDirectories: true)
        let helper = folder + "/bin/helper"
        try plant(helper, mode: 0o4755)
        let executor = try #require(Self.pythonAsOwner)
        #expect(executor.warnings(forWorkingDirectory: folder).contains {
                    $0.contains("bin/helper") && $0.contains("set-uid") && $0.contains("to write there, take that file out of the folder")
                },
                "\(executor.warnings(forWorkingDirectory: folder))")
        let rewrite = """
            import mmap, os
            try:
                fd = os.open('bin/helper', os.O_RDWR)
                m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
                m[0:4] = b'PWND'
                m.flush()
                print('rewrote')
            except OSError as e:
                print('refused', e.errno)
            """
        let result = try await run(["python3", "-c", rewrite], in: folder)
        #expect(result.stdout?.text == "refused 13\n", "\(result.stdout?.text ?? "") \(result.stderr?.text ?? "")")
        var info = stat()
        #expect(stat(helper, &info) == 0 && info.st_mode & 0o4000 != 0)
        let head = try FileHandle(forReadingFrom: URL(fileURLWithPath: helper)).readData(ofLength: 4)
        #expect(head == Data([0x7f, 0x45, 0x4c, 0x46]), "the set-uid file is untouched")
    }

    @Test func aSetUIDFileOfAnotherOwnerDoesNotStopTheMapping() async throws {
        let folder = try rootFolder("foreign-suid")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let theirs = folder + "/theirs"
        try plant(theirs, uid: 1234, gid: 1234, mode: 0o4755)
        let result = try await run(["sh", "-c", "echo hi > out.txt && echo wrote; echo x >> theirs || echo kept"], in: folder, policy: Policies.default)
        #expect(result.stdout?.text == "wrote\nkept\n", "\(result.stdout?.text ?? "") \(result.stderr?.text ?? "")")
    }

    @Test func aSetUIDFileInTheFoldersGroupStopsTheMappingToo() async throws {
        // Owned by another user but writable by the folder's group, which the command joins as
        // the owner: a mapped rewrite would keep that user's set-uid bit.
        let folder = try rootFolder("group-suid")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try plant(folder + "/shared", uid: 1234, gid: 0, mode: 0o4775)
        let executor = try #require(Self.asOwner)
        #expect(executor.warnings(forWorkingDirectory: folder).contains { $0.contains("/shared") }, "\(executor.warnings(forWorkingDirectory: folder))")
        let result = try await run(["sh", "-c", "echo hi > out.txt || echo refused"], in: folder, policy: Policies.default)
        #expect(result.stdout?.text == "refused\n", "\(result.stdout?.text ?? "")")
    }

    /// Runs a shell script on the host (as root), in `directory`.
    func host(_ script: String, in directory: String) throws {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", script]
        shell.currentDirectoryURL = URL(fileURLWithPath: directory)
        try shell.run()
        shell.waitUntilExit()
    }

    @Test func aSetUIDFileTheCheckCannotNameOrReachStillStopsTheMapping() async throws {
        // A name that is not UTF-8, and a path longer than PATH_MAX: the check reads names as
        // bytes and walks from each folder's descriptor, so it reaches and names both.
        let executor = try #require(Self.asOwner)
        let oddName = try rootFolder("odd-name")
        defer { try? FileManager.default.removeItem(atPath: oddName) }
        try host("cp /usr/bin/true \"$(printf 'x\\377')\" && chmod 4755 x*", in: oddName)
        #expect(executor.warnings(forWorkingDirectory: oddName).contains { $0.contains("set-uid") }, "\(executor.warnings(forWorkingDirectory: oddName))")
        let deep = try rootFolder("deep")
        defer { try? host("rm -rf " + deep, in: "/") }
        try host("for i in $(seq 18); do d=$(printf 'a%.0s' $(seq 250)); mkdir $d && cd $d; done; cp /usr/bin/true f && chmod 4755 f", in: deep)
        #expect(executor.warnings(forWorkingDirectory: deep).contains { $0.contains("/f, a set-uid or set-gid file of the directory's owner or group") },
                "\(executor.warnings(forWorkingDirectory: deep).map { String($0.suffix(120)) })")
        let result = try await run(["sh", "-c", "echo hi > out.txt || echo refused"], in: deep, policy: Policies.default)
        #expect(result.stdout?.text == "refused\n", "\(result.stdout?.text ?? "")")
    }

    @Test func noNamespaceWithAnIdmappedFolderEvenWhereThePolicyAllowsIt() async throws {
        // In a user namespace of its own the command would hold CAP_SETFCAP, and a file
        // capability written on the mapped folder would come out as the owner's.
        var lax = Policies.python
        lax.name = "lax-namespaces"
        lax.seccomp.syscalls.append(SyscallRule(names: ["unshare", "setns", "clone"], action: .allow))
        let executor = try Executor(policy: lax).writingAsWorkingDirectoryOwner()
        let folder = try rootFolder("userns")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let python = """
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            def errno_of(result):
                return 'done' if result >= 0 else ctypes.get_errno()
            print('write', errno_of(os.open('plain', os.O_CREAT | os.O_WRONLY, 0o644)))
            print('unshare', errno_of(libc.unshare(0x10000000)))
            print('clone', errno_of(libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)))
            """
        let result = try await run(["python3", "-c", python], in: folder, policy: lax, executor: executor)
        #expect(result.stdout?.text == "write done\nunshare 1\nclone 1\n", "\(result.stdout?.text ?? "") \(result.stderr?.text ?? "")")
    }

    @Test func everyCommandOfALeasedUIDGetsTheGuardMappedOrNot() async throws {
        // A mapped folder can outlive its command: a descriptor of it passed out over a unix
        // socket served a later command of the same uid, unmapped and unguarded, which then
        // made a set-uid root file through it (third review). So the guard is on every command
        // of a leased uid: here, in a folder that is not mapped (1777), on a file of its own.
        let folder = try rootFolder("guarded", mode: 0o1777)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let python = """
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            with open('mine', 'w') as f:
                f.write('x')
            try:
                os.chmod('mine', 0o4755)
                print('chmod done')
            except OSError as e:
                print('chmod', e.errno)
            print('unshare', 'done' if libc.unshare(0x10000000) == 0 else ctypes.get_errno())
            """
        var lax = Policies.python
        lax.name = "lax-unshare"
        lax.seccomp.syscalls.append(SyscallRule(names: ["unshare"], action: .allow))
        let result = try await run(["python3", "-c", python], in: folder, policy: lax, executor: try Executor(policy: lax))
        #expect(result.stdout?.text == "chmod 1\nunshare 1\n", "\(result.stdout?.text ?? "") \(result.stderr?.text ?? "")")
        var info = stat()
        #expect(stat(folder + "/mine", &info) == 0 && info.st_mode & 0o6000 == 0)
    }

    @Test func aFileWithACapabilityStopsTheMappingLikeASetUIDFile() async throws {
        // A file capability survives a rewrite through a shared mapping, as a set-uid bit does
        // (fourth review: cap_setuid on a root file in the folder gave root).
        try #require(access("/usr/sbin/setcap", X_OK) == 0, "setcap (Debian's libcap2-bin) makes the file capability")
        let folder = try rootFolder("capability")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try host("cp /usr/bin/true tool && setcap cap_setuid+ep tool", in: folder)
        let executor = try #require(Self.asOwner)
        #expect(executor.warnings(forWorkingDirectory: folder).contains { $0.contains("/tool") && $0.contains("capability") },
                "\(executor.warnings(forWorkingDirectory: folder))")
        let result = try await run(["sh", "-c", "echo x >> tool || echo refused"], in: folder, policy: Policies.default)
        #expect(result.stdout?.text == "refused\n", "\(result.stdout?.text ?? "")")
    }
}
