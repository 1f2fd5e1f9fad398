import Foundation
import Testing

/// `confine` end to end: the built binary, its bytes, its exit codes, its one-line errors.
@Suite struct CLITests {
    static let binary: String = {
        let runner = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        return runner.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("confine").path
    }()
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("ConfinePolicyTests/Fixtures").path

    struct Output {
        var status: Int32
        var stdout: Data
        var stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs the CLI with `arguments`, draining both pipes at once.
    func confine(_ arguments: [String], input: Data? = nil) throws -> Output {
        try execute(Self.binary, arguments, input: input)
    }

    /// Runs `executable` (from `directory`, if given), draining both pipes at once.
    func execute(_ executable: String, _ arguments: [String], input: Data? = nil, directory: String? = nil,
                 environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        let group = DispatchGroup()
        nonisolated(unsafe) var stdout = Data(), stderr = Data()
        group.enter()
        DispatchQueue.global().async { stdout = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { stderr = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        try process.run()
        if let input { inp.fileHandleForWriting.write(input) }
        try inp.fileHandleForWriting.close()
        process.waitUntilExit()
        group.wait()
        return Output(status: process.terminationStatus, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test func runPassesOutputAndStatusThrough() throws {
        let result = try confine(["run", "--", "sh", "-c", "echo out; echo err >&2; exit 42"])
        #expect(result.status == 42)
        #expect(result.text == "out\n")
        #expect(result.stderr == "err\n")
    }

    @Test func sigtermKillsTheTreeAndGivesTheHomeBack() throws {
        // confine run stopped by SIGTERM: the command's tree is killed, its private home removed,
        // and confine exits 143 with one line saying so (not killed before it cleans up).
        let marker = "61.\(getpid() % 1000)"
        let script = """
            "$0" run -q -- sh -c 'echo "$HOME"; exec sleep \(marker)' & pid=$!
            sleep 1.5; kill -TERM $pid; wait $pid; echo "status=$?"
            """
        let result = try execute("/bin/sh", ["-c", script, Self.binary])
        let lines = result.text.split(separator: "\n").map(String.init)
        #expect(lines.last == "status=143", "\(result.text) \(result.stderr)")
        #expect(result.stderr.contains("confine: stopped by SIGTERM; the command's process tree was killed"), "\(result.stderr)")
        let home = try #require(lines.first)
        #expect(home.hasPrefix("/"))
        #expect(!FileManager.default.fileExists(atPath: home), "the command's home \(home) was left behind")
        let left = try execute("/usr/bin/pgrep", ["-f", "sleep \(marker)"])
        #expect(left.text.isEmpty, "the command outlived confine: \(left.text)")
    }

    @Test func checkRefusesAWorkingDirectoryTheCommandCannotEnter() throws {
        // what confine run meets at launch (exit 126), check says first: as root a command runs as
        // a uid of its own, which a 0700 folder on the way stops
        guard getuid() == 0 else { return }
        let inside = "/root/confine-check-\(getpid())"
        try FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: inside) }
        let checked = try execute(Self.binary, ["check", "--policy", "default", "--", "ls"], directory: inside)
        #expect(checked.status == 126 && checked.text.hasPrefix("refused: cannot enter the working directory '\(inside)': /root (mode 700) admits no other user"),
                "\(checked.status) \(checked.text)")
        let ran = try execute(Self.binary, ["run", "-q", "--", "ls"], directory: inside)
        #expect(ran.status == 126, "check and run agree: \(ran.stderr)")
        // from a folder every user may enter, both allow it
        #expect(try confine(["check", "--policy", "default", "--", "ls"]).status == 0)
    }

    @Test func importSaysWhichCallsItCouldNotKeepAndWhy() throws {
        // a profile naming 32-bit calls (expected to go) and x86_64 calls this libseccomp cannot name (which matter)
        let folder = NSTemporaryDirectory() + "import-kinds-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try """
            { "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
              "syscalls": [
                { "names": ["read", "write", "chown32", "_llseek"], "action": "SCMP_ACT_ALLOW" },
                { "names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": { "caps": ["CAP_SYS_ADMIN"] } } ] }
            """.write(toFile: folder + "/profile.json", atomically: true, encoding: .utf8)
        let result = try confine(["policy", "import", folder + "/profile.json", "-o", folder + "/out.json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("not calls of x86_64 (32-bit or other architectures' names), dropped as expected: chown32, _llseek"), "\(result.stderr)")
        #expect(result.stderr.contains("1 rules imported; 1 not applicable (other capabilities, architectures or kernels); 0 not expressible"), "\(result.stderr)")
    }

    @Test func runIsBinarySafeBothWays() throws {
        let bytes = Data((0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let result = try confine(["run", "--", "cat"], input: bytes)
        #expect(result.status == 0)
        #expect(result.stdout == bytes)
    }

    @Test func lsRunsUnderTheDefaultPolicy() throws {
        let result = try confine(["run", "--", "ls", "-l", "/usr"])
        #expect(result.status == 0)
        #expect(result.text.contains("bin"))
    }

    @Test func nothingACommandLeftInItsHomeOutlivesConfineRun() throws {
        // The home is emptied before `confine run` exits, even a folder the command made unwritable.
        let result = try confine(["run", "--", "sh", "-c", "mkdir $HOME/d; echo x > $HOME/d/f; chmod 500 $HOME/d; echo $HOME"])
        #expect(result.status == 0, "\(result.stderr)")
        let home = result.text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(home.hasPrefix("/tmp/confine-home"), "\(home)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: home)) ?? []
        #expect(left.isEmpty, "\(home) still holds \(left)")
    }

    @Test func signalDeathIs128PlusTheSignal() throws {
        #expect(try confine(["run", "--", "sh", "-c", "kill -TERM $$"]).status == 143)
        #expect(try confine(["run", "--", "sh", "-c", "kill -KILL $$"]).status == 137)
    }

    @Test func timeoutIs124AndSaysSo() throws {
        let result = try confine(["run", "--timeout", "0.2", "--", "sleep", "5"])
        #expect(result.status == 124)
        #expect(result.stderr.hasPrefix("confine: timed out after 200ms"))
    }

    /// `--timeout` only shortens the policy's: when the policy's ends the command, the message
    /// says whose it was.
    @Test func aTimeoutLongerThanThePolicysSaysThePolicysEndedIt() throws {
        let folder = "/var/tmp/confine-timeout-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/brief.json"
        try Data(#"{"version": 1, "include": "default", "timeout": "300ms"}"#.utf8).write(to: URL(fileURLWithPath: file))
        let result = try confine(["run", "--policy", file, "--timeout", "60", "--", "sleep", "5"])
        #expect(result.status == 124)
        #expect(result.stderr.hasPrefix("confine: timed out after 300ms (the timeout of policy 'brief'; --timeout 60s cannot lengthen it)"), "\(result.stderr)")
        #expect(result.stderr.hasSuffix("; the process tree was killed\n"), "\(result.stderr)")
        let shorter = try confine(["run", "--policy", file, "--timeout", "0.1", "--", "sleep", "5"])
        #expect(shorter.status == 124 && shorter.stderr.hasPrefix("confine: timed out after 100ms; the process tree"), "\(shorter.stderr)")
    }

    @Test func refusedIs126WithTheRule() throws {
        let result = try confine(["run", "--policy", "strict", "--", "sh", "-c", "true"])
        #expect(result.status == 126)
        #expect(result.stderr.hasPrefix("confine: refused by policy 'strict'"))
        #expect(result.stderr.contains("commands.allow"))
        #expect(result.stderr.split(separator: "\n").count == 1, "one confine: line")
    }

    @Test func notFoundIs127() throws {
        let result = try confine(["run", "--", "no-such-command-anywhere"])
        #expect(result.status == 127)
        #expect(result.stderr.hasPrefix("confine: No such file or directory: 'no-such-command-anywhere'"))
    }

    @Test func notExecutableIs126() throws {
        let path = NSTemporaryDirectory() + "confine-cli-not-executable-\(getpid())"
        FileManager.default.createFile(atPath: path, contents: Data("data".utf8), attributes: [.posixPermissions: 0o644])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try confine(["run", "--", path])
        #expect(result.status == 126)
        #expect(result.stderr.hasPrefix("confine: Permission denied"))
    }

    @Test func badPolicyIs2WithFileLineAndField() throws {
        let result = try confine(["run", "--policy", Self.fixtures + "/unknown-key.json", "--", "true"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("unknown-key.json:7: seccomp.syscalls[1].nmes: unknown field 'nmes'"))
        #expect(try confine(["run", "--policy", "no-such-policy", "--", "true"]).status == 2)
    }

    @Test func badUsageIs2() throws {
        let noCommand = try confine(["run"])
        #expect(noCommand.status == 2)
        #expect(noCommand.stderr.contains("no command"))
        let negative = try confine(["run", "--timeout=-1", "--", "true"])
        #expect(negative.status == 2)
        #expect(negative.stderr.contains("negative"))
        let badDirectory = try confine(["run", "--cwd", "/nonexistent", "--", "true"])
        #expect(badDirectory.status == 2)
        #expect(badDirectory.stderr.contains("/nonexistent"))
        #expect(try confine(["run", "--env", "NOEQUALS", "--", "true"]).status == 2)
        #expect(try confine(["run", "--no-such-option", "--", "true"]).status == 2)
        #expect(try confine(["run", "--timeout", "1e10", "--", "true"]).status == 0, "a huge timeout is no timeout, not a crash")
        #expect(try confine(["check", "--policy", "default", "--syscall", ":"]).status == 2)
        #expect(try confine(["check", "--policy", "default", "--syscall", ""]).status == 2)
    }

    @Test func timeoutsAreCheckedWhicheverWayTheyAreWritten() throws {
        // `--timeout -1` (a separate word) used to read as a missing value; 0 used to run and time out.
        for (arguments, words) in [(["--timeout", "-1"], "negative"), (["--timeout", "0"], "more than 0"), (["--timeout", "0ms"], "more than 0"),
                                   (["--timeout", "soon"], "not a duration")] {
            let result = try confine(["run"] + arguments + ["--", "true"])
            #expect(result.status == 2 && result.stderr.contains(words), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.hasPrefix("confine: --timeout '"), "\(result.stderr)")
        }
        let learn = try confine(["policy", "learn", "--timeout", "-5", "--", "true"])
        #expect(learn.status == 2 && learn.stderr.contains("negative"), "\(learn.stderr)")
    }

    @Test(arguments: [["run"], ["check"], ["policy", "learn"]])
    func helpWorksOnEverySubcommandThatTakesACommand(_ subcommand: [String]) throws {
        for flag in ["--help", "-h"] {
            let help = try confine(subcommand + [flag])
            #expect(help.status == 0, "\(subcommand) \(flag): \(help.stderr)")
            #expect(help.text.hasPrefix("OVERVIEW: ") && help.text.contains("USAGE: confine \(subcommand.joined(separator: " "))"), "\(help.text)")
        }
        let unknown = try confine(subcommand + ["--no-such-option", "--", "true"])
        #expect(unknown.status == 2 && unknown.stderr.contains("see confine \(subcommand.joined(separator: " ")) --help"), "\(unknown.stderr)")
        // After --, --help is the command's own argument.
        #expect(try confine(["run", "--", "sh", "-c", "echo \"$0\"", "--help"]).text == "--help\n")
    }

    @Test(.enabled(if: geteuid() == 0)) func aWorkingDirectoryReachedThroughALinkIsNotTheCommandsOwn() throws {
        // A command writing in one folder as its owner could plant a link there that sends a
        // later run into another folder of the owner's (fifth review): through a link, no mapping.
        let real = "/var/tmp/confine-cli-real-\(getpid())", link = "/var/tmp/confine-cli-link-\(getpid())"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        chmod(real, 0o755)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        defer {
            try? FileManager.default.removeItem(atPath: link)
            try? FileManager.default.removeItem(atPath: real)
        }
        let script = ["run", "--", "sh", "-c", "echo hi > out.txt && echo wrote || echo refused"]
        let direct = try execute(Self.binary, script, directory: real, environment: ["PWD": real])
        #expect(direct.text == "wrote\n", "\(direct.stderr)")
        let throughShell = try execute(Self.binary, script, directory: real, environment: ["PWD": link])
        #expect(throughShell.text == "refused\n" && throughShell.stderr.contains("reached by another path than its own (\(link)"), "\(throughShell.stderr)")
        let own = URL(fileURLWithPath: real).resolvingSymlinksInPath().path
        #expect(throughShell.stderr.contains("run from the folder's own path (\(own))"), "names the path to use: \(throughShell.stderr)")
        // A $PWD naming another folder (a `cd` through a link that was pointed elsewhere since):
        // not trusted, so not mapped; `policy learn` decides the same way (in the library).
        let stale = try execute(Self.binary, script, directory: real, environment: ["PWD": "/var/tmp"])
        #expect(stale.text == "refused\n" && stale.stderr.contains("a $PWD naming another folder"), "\(stale.stderr)")
        let output = "/var/tmp/confine-cli-learned-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let learned = try execute(Self.binary, ["policy", "learn", "-o", output, "--", "sh", "-c", "echo hi > learned.txt || true"],
                                  directory: real, environment: ["PWD": link])
        #expect(!FileManager.default.fileExists(atPath: real + "/learned.txt"), "\(learned.stderr)")
        let throughOption = try execute(Self.binary, ["run", "--cwd", link] + script.dropFirst(), directory: "/")
        #expect(throughOption.text == "refused\n" && throughOption.stderr.contains("symbolic link"), "\(throughOption.stderr)")
    }

    @Test func argumentsThatAreNotUTF8ReachTheCommandByteForByte() throws {
        let folder = "/var/tmp/confine-cli-bytes-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        chmod(folder, 0o755)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Foundation's Process takes Strings: a shell makes the name (bytes f0 90 80) and the call.
        let script = #"name=$(printf 'f\360\220\200'); echo found > "$name"; "$0" run -- cat "$name"; "$0" run -- printf %s "$name" | od -An -tx1"#
        let result = try execute("/bin/sh", ["-c", script, Self.binary], directory: folder, environment: ["PWD": folder])
        #expect(result.status == 0 && result.text.hasPrefix("found\n"), "\(result.stderr)")
        #expect(result.text.dropFirst(6).split(separator: " ").joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines) == "66 f0 90 80")
        // --env values too, in both spellings, beside the policy's own variables
        let env = #"v=$(printf 'caf\351'); "$0" run --env "X=$v" --env="Y=$v" --env Z=plain -- sh -c 'printf "%s|%s|%s|%s" "$X" "$Y" "$Z" "$LANG"' | od -An -tx1"#
        let variables = try execute("/bin/sh", ["-c", env, Self.binary], directory: folder, environment: ["PWD": folder])
        #expect(variables.status == 0, "\(variables.stderr)")
        #expect(variables.text.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
                == "63 61 66 e9 7c 63 61 66 e9 7c 70 6c 61 69 6e 7c 43 2e 55 54 46 2d 38", "\(variables.text)")
    }

    @Test func grantsAddAPathForOneRunWithinWhatThePolicyAllows() throws {
        let folder = "/var/tmp/confine-cli-grant-\(getpid())"
        let work = folder + "/work", data = folder + "/data", out = folder + "/out"
        for path in [work, data, out] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for path in [folder, work, data, out] { chmod(path, 0o755) }
        try Data("payload\n".utf8).write(to: URL(fileURLWithPath: data + "/data.bin"))
        try FileManager.default.createSymbolicLink(atPath: folder + "/etc-link", withDestinationPath: "/etc")
        func run(_ options: [String], _ script: String, policy: String = "default") throws -> Output {
            try execute(Self.binary, ["run", "--policy", policy] + options + ["--", "sh", "-c", script], directory: work, environment: ["PWD": work])
        }

        let without = try run([], "cat \(data)/data.bin")
        #expect(without.status != 0 && without.stderr.contains("Permission denied"), "\(without.stderr)")
        let readable = try run(["--ro", data + "/data.bin"], "cat \(data)/data.bin; echo more >> \(data)/data.bin || echo refused")
        #expect(readable.text == "payload\nrefused\n", "\(readable.stderr)")
        let writable = try run(["--rw", out], "echo hi > \(out)/o.txt && cat \(out)/o.txt")
        #expect(writable.text == "hi\n", "\(writable.stderr)")
        var info = stat()
        #expect(stat(out + "/o.txt", &info) == 0 && (geteuid() != 0 || info.st_uid == 0), "written as the folder's owner (root)")
        // What a writable grant opens, tried: a set-uid file or a device made there.
        let plant = try run(["--rw", out], "cp /bin/true \(out)/t; chmod 4755 \(out)/t; mknod \(out)/d c 1 3; true")
        #expect(stat(out + "/t", &info) == 0 && info.st_mode & 0o6000 == 0, "no set-id bit: \(plant.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/d"))

        // Refused, each with status 126 and what the policy says, before anything runs.
        for (options, words) in [(["--rw", "/etc"], "its rule '!/etc' refuses it"),
                                 (["--ro", folder + "/etc-link"], "(/etc): policy 'default' does not admit it"),
                                 (["--ro", "/tmp"], "its rule '!/tmp' refuses it"),
                                 (["--ro", "/proc/1/environ"], "its rule '!/proc' refuses it")] {
            let refused = try run(options, "echo ran")
            #expect(refused.status == 126 && refused.text.isEmpty && refused.stderr.contains(words), "\(options): \(refused.stderr)")
        }
        try FileManager.default.createSymbolicLink(atPath: folder + "/out-link", withDestinationPath: out)
        let linked = try run(["--rw", folder + "/out-link"], "echo ran")
        #expect(linked.status == 126 && linked.stderr.contains("is reached through a symbolic link (it resolves to \(out))"), "\(linked.stderr)")
        let strict = try run(["--rw", out], "ls", policy: "strict")
        #expect(strict.status == 126 && strict.stderr.contains("policy 'strict' grants paths readOnly at most"), "\(strict.stderr)")
        let none = folder + "/none.json"
        try Data(#"{"version": 1, "include": "default", "isolation": {"filesystem": {"readOnly": ["/usr", "/lib", "/lib64", "/bin"], "workingDirectory": "readWrite"}}}"#.utf8)
            .write(to: URL(fileURLWithPath: none))
        let closed = try run(["--ro", data], "ls", policy: none)
        #expect(closed.status == 126 && closed.stderr.contains("grants no path for one run"), "\(closed.stderr)")
        // A readOnly grant does not make a working directory inside it writable, even one the
        // rules would refuse (it is admitted as part of the grant, at the grant's access).
        let narrow = folder + "/narrow.json"
        try Data(#"{"version": 1, "include": "default", "isolation": {"filesystem": {"readOnly": ["/usr", "/lib", "/lib64", "/bin"], "workingDirectory": "readWrite", "grants": "readOnly", "workingDirectories": ["/var/tmp/*", "!\#(data)"]}}}"#.utf8)
            .write(to: URL(fileURLWithPath: narrow))
        let inside = try execute(Self.binary, ["run", "--policy", narrow, "--ro", folder, "--cwd", data, "--", "sh", "-c", "echo x > planted || echo refused"], directory: work)
        #expect(inside.text == "refused\n" && !FileManager.default.fileExists(atPath: data + "/planted"), "\(inside.stderr)")
        let missing = try run(["--ro", folder + "/nothing"], "ls")
        #expect(missing.status == 2 && missing.stderr.contains("No such file or directory"), "\(missing.stderr)")
    }

    @Test func aMemoryLimitKillIs128PlusTheSignalAndSaysSo() throws {
        let directory = "/var/tmp/confine-cli-memory-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = directory + "/small.json"
        try Data(#"{"version": 1, "include": "python", "isolation": {"memory": "64MiB"}}"#.utf8).write(to: URL(fileURLWithPath: policy))
        let result = try confine(["run", "--policy", policy, "--", "python3", "-c", "b = bytearray(256 << 20)"])
        #expect(result.status == 128 + SIGKILL, "was 247 (the raw -9): \(result.status)")
        #expect(result.stderr.contains("confine: the command went over the memory limit of policy 'small' (64MiB)"), "\(result.stderr)")
    }

    @Test func environmentAndDirectoryOptions() throws {
        let folder = "/var/tmp/confine-cli-cwd-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try confine(["run", "--env", "FRUIT=lime", "--cwd", folder, "--", "sh", "-c", "echo $FRUIT; pwd"])
        #expect(result.text == "lime\n\(folder)\n", "\(result.stderr)")
        // A top-level folder itself, or /opt's system software, is not a working directory.
        for refused in ["/opt", "/srv", "/mnt"] where FileManager.default.fileExists(atPath: refused) {
            #expect(try confine(["run", "--cwd", refused, "--", "true"]).status == 126, "\(refused)")
        }
    }

    @Test func jsonRecordDescribesTheOutcome() throws {
        let result = try confine(["run", "--json", "--", "sh", "-c", "printf hi; printf err >&2; kill -9 $$"])
        #expect(result.status == 137)
        let record = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        #expect(record["status"] as? String == "signal")
        #expect(record["signal"] as? Int == 9)
        #expect(record["signalName"] as? String == "SIGKILL")
        #expect(record["stdout"] as? String == Data("hi".utf8).base64EncodedString())
        #expect(record["stderr"] as? String == Data("err".utf8).base64EncodedString())
        #expect(record["argv"] as? [String] == ["sh", "-c", "printf hi; printf err >&2; kill -9 $$"])
        #expect(record["policy"] as? String == "default")
        #expect((record["wallTime"] as? Double ?? 0) > 0)

        let timedOut = try confine(["run", "--json", "--timeout", "0.1", "--", "sleep", "3"])
        let timeoutRecord = try #require(try JSONSerialization.jsonObject(with: timedOut.stdout) as? [String: Any])
        #expect(timedOut.status == 124)
        #expect(timeoutRecord["status"] as? String == "timeout")

        let refused = try confine(["run", "--json", "--policy", "strict", "--", "sh"])
        let refusedRecord = try #require(try JSONSerialization.jsonObject(with: refused.stdout) as? [String: Any])
        #expect(refused.status == 126)
        #expect(refusedRecord["status"] as? String == "refused")
    }

    @Test func checkSaysWhetherAndWhy() throws {
        let allowed = try confine(["check", "--policy", "strict", "--", "cat", "/etc/hostname"])
        #expect(allowed.status == 0)
        #expect(allowed.text.hasPrefix("allowed: /usr/bin/cat"))
        let refused = try confine(["check", "--policy", "strict", "--", "sh"])
        #expect(refused.status == 126)
        #expect(refused.text.hasPrefix("refused:"))
        let syscalls = try confine(["check", "--policy", "default", "--syscall", "ioctl:1,0x100005412", "--syscall", "clone3", "--syscall", "read"])
        #expect(syscalls.status == 0)
        #expect(syscalls.text.contains("ioctl(0x1, 0x100005412): errno 1 — rule at"))
        #expect(syscalls.text.contains("clone3(): errno 38"))
        #expect(syscalls.text.contains("read(): allow"))
        #expect(try confine(["check", "--policy", "default", "--syscall", "nosuchcall"]).status == 2)
    }

    @Test func checkSaysWhichRuleAdmitsAPath() throws {
        let policies = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("policies").path
        // a policy file under the current folder is named relative to it, as the user would name it
        let current = FileManager.default.currentDirectoryPath
        let shown = policies.hasPrefix(current + "/") ? String(policies.dropFirst(current.count + 1)) : policies
        let read = try confine(["check", "--policy", "default", "--path", "/etc/passwd"])
        #expect(read.status == 0 && read.text.hasPrefix("read /etc/passwd: allowed — isolation.filesystem.readOnly[9], \(shown)/base.json:"), "\(read.text)")
        let write = try confine(["check", "--policy", "default", "--path", "/etc/passwd", "--write"])
        #expect(write.status == 126 && write.text.hasPrefix("write /etc/passwd: refused — readable only, by isolation.filesystem.readOnly[9]"), "\(write.text)")
        let shadow = try confine(["check", "--policy", "default", "--path", "/etc/shadow"])
        #expect(shadow.status == 126 && shadow.text.contains("no rule of the view covers it"), "\(shadow.text)")
        let folder = "/var/tmp/confine-cli-check-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let here = try confine(["check", "--policy", "default", "--cwd", folder, "--path", folder + "/out.txt", "--write"])
        #expect(here.status == 0 && here.text.contains("allowed — the working directory (isolation.filesystem.workingDirectory"), "\(here.text)")
        let strict = try confine(["check", "--policy", "strict", "--cwd", folder, "--path", folder + "/out.txt", "--write"])
        #expect(strict.status == 126 && strict.text.contains("readable only, by the working directory"), "\(strict.text)")
        #expect(try confine(["check", "--policy", "default", "--write"]).status == 2)
        if geteuid() == 0 {
            // Admitted by the view, but below a 0700 folder the command's own uid cannot enter
            // (a project under /root): refused, as run would be. Inside the working directory,
            // what its owner owns is reached as the owner.
            let hidden = folder + "/private", work = hidden + "/work"
            try FileManager.default.createDirectory(atPath: work + "/own", withIntermediateDirectories: true)
            chmod(hidden, 0o700)
            chmod(work + "/own", 0o700)
            FileManager.default.createFile(atPath: work + "/own/data.txt", contents: Data("x".utf8), attributes: [.posixPermissions: 0o600])
            let inside = try confine(["check", "--policy", "default", "--cwd", folder, "--path", folder + "/private"])
            #expect(inside.status == 0, "the working directory's owner's folder: \(inside.text)")
            let unreachable = try confine(["check", "--policy", "default", "--cwd", work, "--path", work + "/own/data.txt"])
            #expect(unreachable.status == 126 && unreachable.text.contains("but the command's uid cannot read it")
                    && unreachable.text.contains("does not let others through"), "\(unreachable.text)")
        }
    }

    /// A binary installed as PREFIX/bin/confine finds PREFIX/share/confine/policies, and lists the
    /// built-in policies besides (a copy with no folder at all still has them).
    @Test func anInstalledBinaryFindsItsPoliciesAndListsTheBuiltInOnes() throws {
        let prefix = "/var/tmp/confine-prefix-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        try FileManager.default.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: prefix + "/share/confine/policies", withIntermediateDirectories: true)
        let build = URL(fileURLWithPath: Self.binary).deletingLastPathComponent().path
        for name in ["confine", "confine-launch"] { try FileManager.default.copyItem(atPath: build + "/" + name, toPath: prefix + "/bin/" + name) }
        try Data(#"{"version": 1, "description": "Mine.", "include": "default"}"#.utf8).write(to: URL(fileURLWithPath: prefix + "/share/confine/policies/mine.json"))
        let list = try execute(prefix + "/bin/confine", ["policy", "list"], directory: "/", environment: [:])
        let names = list.text.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(names == ["mine", "base", "default", "network", "python", "strict"], "\(list.text)")
        #expect(list.text.contains("(built in)"))
        let run = try execute(prefix + "/bin/confine", ["run", "-q", "--policy", "mine", "--cwd", prefix, "--", "true"], directory: "/", environment: [:])
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// `confine audit --format sarif`: SARIF 2.1.0 that code scanning reads — one rule per
    /// finding id, one result per finding at its policy file and line (relative to the current
    /// folder), unreadable policies as tool notifications — checked here and by a validator of
    /// the OASIS schema's models from PyPI (sarif-pydantic, installed by scripts/install-deps.sh),
    /// which also refuses any property SARIF 2.1.0 does not define (Tests/Fixtures/sarif_check.py).
    @Test func auditSpeaksSARIF() throws {
        let repository = URL(fileURLWithPath: Self.fixtures).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let result = try execute(Self.binary, ["audit", "--format", "sarif", "policies", Self.fixtures + "/dangerous.json", Self.fixtures + "/broken.json"],
                                 directory: repository)
        #expect(result.status == 2, "an unreadable policy: \(result.stderr)")
        let document = try #require((try? JSONSerialization.jsonObject(with: Data(result.text.utf8))) as? [String: Any], "\(result.text.prefix(300))")
        #expect(document["version"] as? String == "2.1.0")
        let run = try #require((document["runs"] as? [[String: Any]])?.first)
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        let rules = driver["rules"] as? [[String: Any]] ?? []
        let ids = rules.compactMap { $0["id"] as? String }
        #expect(Set(ids).count == ids.count && ids.contains("isolation.network.host") && ids.contains("seccomp.default-allow"), "\(ids)")
        let results = run["results"] as? [[String: Any]] ?? []
        #expect(results.allSatisfy { ids.contains($0["ruleId"] as? String ?? "") && ["error", "warning", "note"].contains($0["level"] as? String ?? "") })
        let network = results.first { $0["ruleId"] as? String == "network.inet" }
        let physical = ((network?["locations"] as? [[String: Any]])?.first?["physicalLocation"]) as? [String: Any]
        #expect((physical?["artifactLocation"] as? [String: Any])?["uri"] as? String == "policies/network.json", "\(network ?? [:])")
        #expect(((physical?["region"] as? [String: Any])?["startLine"] as? Int ?? 0) > 0)
        let notifications = ((run["invocations"] as? [[String: Any]])?.first?["toolExecutionNotifications"]) as? [[String: Any]] ?? []
        #expect(notifications.count == 1 && notifications.first?["level"] as? String == "error")
        let checker = repository + "/Tests/Fixtures/sarif_check.py"
        let validated = try execute("/usr/bin/env", ["python3", checker], input: Data(result.text.utf8), environment: ["PYTHONPATH": repository + "/.build-sarif"])
        #expect(validated.text == "valid\n", "\(validated.text) \(validated.stderr)")
        // The checker is not a check that cannot fail: a misspelt property is refused.
        let misspelt = result.text.replacingOccurrences(of: "\"ruleId\"", with: "\"ruleID\"")
        let refused = try execute("/usr/bin/env", ["python3", checker], input: Data(misspelt.utf8), environment: ["PYTHONPATH": repository + "/.build-sarif"])
        #expect(refused.text.hasPrefix("not SARIF 2.1.0 properties: $.runs[0].results[0].ruleID"), "\(refused.text) \(refused.stderr)")
        // A file name with a space is a URI reference with %20, as RFC 3986 and code scanning want.
        let folder = NSTemporaryDirectory() + "sarif-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: Self.fixtures + "/dangerous.json", toPath: folder + "/a b.json")
        let spaced = try execute(Self.binary, ["audit", "--format", "sarif", "a b.json"], directory: folder)
        #expect(spaced.text.contains("\"uri\" : \"a%20b.json\""), "\(spaced.text.prefix(600))")
    }

    @Test func checkSuggestsTheSyscallMeant() throws {
        for typo in ["sockett", "scoket"] {
            let result = try confine(["check", "--policy", "default", "--syscall", typo])
            #expect(result.status == 2 && result.stderr.contains("did you mean 'socket'?"), "\(result.stderr)")
        }
    }

    @Test func policyListAndShow() throws {
        let list = try confine(["policy", "list"])
        for name in ["default", "strict", "network", "python"] { #expect(list.text.contains(name)) }
        let show = try confine(["policy", "show", "default"])
        #expect(show.text.contains("clone3: SCMP_ACT_ERRNO(38)"))
        #expect(show.text.contains("BPF instructions"))
        // every part, sizes as sizes (issue 17 item 5)
        for part in ["rlimits: cpu=10s as=1GiB fsize=64MiB", "isolation: required false", "filesystem: workingDirectory readWrite, grants readWrite",
                     "readOnly: /usr /bin", "network: none (loopback only)", "processes: namespace true, max 256", "memory: 1GiB, cpu: 1.0 cores",
                     "quiet (refused, not reported): socket if arg0"] {
            #expect(show.text.contains(part), "\(part)")
        }
        let base = try confine(["policy", "show", "strict"])
        #expect(base.text.contains("writableExecutable false") && base.text.contains("grants readOnly"), "\(base.text.prefix(800))")
    }

    @Test func auditScoresAndFailsOnALevel() throws {
        let shipped = try confine(["audit", "--fail-on", "medium", URL(fileURLWithPath: Self.fixtures).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("policies").path])
        #expect(shipped.status == 0)
        #expect(shipped.text.contains("default ("))
        let dangerous = try confine(["audit", "--fail-on", "medium", Self.fixtures + "/dangerous.json"])
        #expect(dangerous.status == 1)
        #expect(dangerous.text.contains("DANGEROUS"))
        #expect(dangerous.text.contains("dangerous.json:6"))
        let json = try confine(["audit", "--format", "json", Self.fixtures + "/dangerous.json"])
        #expect(json.status == 0, "no --fail-on: findings alone do not fail")
        let document = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        #expect(document["schema"] as? Int == 1)
        let report = try #require((document["policies"] as? [[String: Any]])?.first)
        #expect(report["label"] as? String == "DANGEROUS")
        #expect(((report["findings"] as? [[String: Any]]) ?? []).contains { $0["id"] as? String == "commands.exec-capable" })
        let broken = try confine(["audit", Self.fixtures + "/unknown-key.json"])
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("unknown-key.json:7"))
        #expect(try confine(["audit", "--fail-on", "bogus", "default"]).status == 2)
    }

    @Test func policyDiffAndImport() throws {
        let diff = try confine(["policy", "diff", "default", "network"])
        #expect(diff.status == 1)
        #expect(diff.text.contains("+ syscalls: connect: refused -> allowed"))
        #expect(try confine(["policy", "diff", "network", "default"]).status == 0)
        let output = NSTemporaryDirectory() + "confine-import-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let imported = try confine(["policy", "import", Self.fixtures + "/docker-default.json", "--kernel", "6.1", "-o", output])
        #expect(imported.status == 0)
        #expect(imported.stderr.contains("warning:"))
        #expect(imported.stderr.contains("some_future_syscall"))
        let check = try confine(["check", "--policy", output, "--syscall", "mount"])
        #expect(check.text.contains("mount(): errno 1"))
        // Every value checked: an unknown one would silently select other rules.
        let docker = Self.fixtures + "/docker-default.json"
        for (options, words) in [(["--cap", "CAP_FOO"], "--cap 'CAP_FOO' is not a Linux capability"), (["--arch", "sparc"], "--arch 'sparc' is not an architecture"),
                                 (["--kernel", "banana"], "--kernel 'banana' is not a kernel version")] {
            let refused = try confine(["policy", "import", docker] + options)
            #expect(refused.status == 2 && refused.stderr.contains(words) && refused.text.isEmpty, "\(options): \(refused.stderr)")
        }
        // Any case, with or without CAP_: the same rules as the canonical name.
        let lower = try confine(["policy", "import", docker, "--kernel", "6.1", "--cap", "sys_admin"])
        let canonical = try confine(["policy", "import", docker, "--kernel", "6.1", "--cap", "CAP_SYS_ADMIN"])
        #expect(lower.status == 0 && lower.text == canonical.text, "\(lower.stderr)")
        let foreign = try confine(["policy", "import", docker, "--kernel", "6.1", "--arch", "arm64"])
        #expect(foreign.status == 0 && foreign.stderr.contains("rules are selected for aarch64, but the policy's filter is built for the machine that runs it"))
    }

    @Test(arguments: [["ls", "-l"], ["python3", "-c", "print(1)"], ["tar", "-cf", "/dev/null", "/etc/hostname"]])
    func policyLearnWritesAPolicyTheCommandPasses(_ command: [String]) throws {
        let output = NSTemporaryDirectory() + "confine-learned-\(getpid())-\(command[0]).json"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let learned = try confine(["policy", "learn", "-o", output, "--"] + command)
        #expect(learned.status == 0, "\(learned.stderr)")
        #expect(learned.stderr.contains("verified"))
        let rerun = try confine(["run", "--json", "--policy", output, "--"] + command)
        let record = try #require(try JSONSerialization.jsonObject(with: rerun.stdout) as? [String: Any])
        #expect(record["status"] as? String == "ok")
        #expect((record["refused"] as? [Any])?.isEmpty == true)
        let audit = try confine(["audit", "--fail-on", "medium", output])
        #expect(audit.status == 0, "\(audit.text)")
    }

    @Test func jsonRecordNamesTheRefusedSyscall() throws {
        let probe = URL(fileURLWithPath: Self.binary).deletingLastPathComponent().appendingPathComponent("ConfineProbe").path
        let result = try confine(["run", "--json", "--", probe, "socket-inet6"])
        let record = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        #expect(record["refusedSyscall"] as? String == "socket(AF_INET6, SOCK_STREAM, 0)")
    }

    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/functions.json").path

    @Test(arguments: [("json-key", "value"), ("json-key-swift", "value"), ("upper", #"{"KEY": "VALUE"}"#)])
    func invokePrintsTheResult(_ function: String, _ expected: String) throws {
        let result = try confine(["invoke", function, "--config", Self.examples, "--event", #"{"key": "value"}"#])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.text == expected)
    }

    @Test(arguments: ["ls", "ls-swift"])
    func invokeRunsLsConfined(_ function: String) throws {
        let result = try confine(["invoke", function, "--config", Self.examples])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.text.hasPrefix("total "))
    }

    @Test func invokeErrorsAreFunctionComputesJSON() throws {
        let bad = try confine(["invoke", "json-key", "--config", Self.examples, "--event", "not json"])
        #expect(bad.status == 1)
        let error = try #require(try JSONSerialization.jsonObject(with: bad.stdout) as? [String: Any])
        #expect(error["errorType"] as? String == "JSONDecodeError")
        #expect(error["stackTrace"] is [String])
        let missing = try confine(["invoke", "nope", "--config", Self.examples])
        #expect(missing.status == 1)
        #expect(missing.text.contains("FunctionNotFound"))
        let badConfig = try confine(["invoke", "f", "--config", Self.fixtures + "/../../ConfineRuntimeTests/Fixtures/bad-runtime.json"])
        #expect(badConfig.status == 2)
        #expect(badConfig.stderr.contains("bad-runtime.json:4: functions.f.runtime"))
    }

    @Test func invokeObjectStorageExamplesAgainstALocalEndpoint() throws {
        let examplesDirectory = (Self.examples as NSString).deletingLastPathComponent
        try #require(FileManager.default.fileExists(atPath: examplesDirectory + "/oss-put/python/oss2"), "scripts/install-deps.sh installs oss2")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", examplesDirectory + "/../Tests/Fixtures/oss_server.py", "LTAI5tExampleKeyId", "example-access-key-secret", "example-security-token"]
        let input = Pipe(), output = Pipe()
        server.standardInput = input
        server.standardOutput = output
        try server.run()
        defer { try? input.fileHandleForWriting.close() }
        var line = Data()
        while !line.contains(0x0a) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let port = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        // The examples' configuration, pointed at the local endpoint.
        let data = try #require(FileManager.default.contents(atPath: Self.examples))
        var configuration = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var functions = try #require(configuration["functions"] as? [String: [String: Any]])
        for name in ["oss-put", "oss-put-swift"] {
            var function = try #require(functions[name])
            function["environment"] = ["OSS_ENDPOINT": "http://127.0.0.1:\(port)", "OSS_BUCKET": "my-bucket"]
            if function["codeDirectory"] != nil { function["codeDirectory"] = examplesDirectory + "/oss-put" }
            functions[name] = function
        }
        configuration["functions"] = functions.filter { $0.key.hasPrefix("oss") }
        let file = NSTemporaryDirectory() + "confine-oss-\(getpid()).json"
        try JSONSerialization.data(withJSONObject: configuration).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        for function in ["oss-put", "oss-put-swift"] {
            let result = try confine(["invoke", function, "--config", file, "--event", "hello"])
            #expect(result.status == 0, "\(result.text) \(result.stderr)")
            #expect(result.text == "success")
        }
    }
}
