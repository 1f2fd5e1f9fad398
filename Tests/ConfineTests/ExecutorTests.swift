@testable import Confine
import ConfinePolicy
import Foundation
import Testing

@Suite struct ExecutorTests {
    let executor = Executors.default

    @Test func outputIsBinarySafe() async throws {
        let bytes = (0..<4096).map { UInt8(truncatingIfNeeded: $0) }
        #expect(try await executor.checkOutput(["cat"], input: bytes) == bytes)
    }

    @Test func argumentsThatAreNotUTF8ReachTheCommandByteForByte() async throws {
        // A file whose name holds bytes f0 90 80 (a truncated 4-byte sequence), as os.fsencode gives.
        let folder = "/var/tmp/confine-bytes-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        chmod(folder, 0o755)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let name: [UInt8] = [0x66, 0xf0, 0x90, 0x80]
        let path = Array(folder.utf8) + [0x2f] + name
        let fd = (path + [0]).withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644) }
        #expect(fd >= 0)
        _ = write(fd, "found\n", 6)
        close(fd)
        let cat = try await executor.execute(Command(bytes: [Array("cat".utf8), name], stdin: .null, stdout: .pipe, stderr: .pipe, workingDirectory: folder))
        #expect(cat.stdout == Array("found\n".utf8), "\(cat.stderr?.text ?? "")")
        let dump = try await executor.checkOutput(bytes: [Array("od".utf8), Array("-An".utf8), Array("-tx1".utf8)], input: name)
        #expect(dump.text.split(separator: " ").map(String.init).joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines) == "66 f0 90 80")
        let echoed = try await executor.checkOutput(bytes: [Array("printf".utf8), Array("%s".utf8), name + [0xff, 0xfe]])
        #expect(echoed == name + [0xff, 0xfe])
        // The readable form stands in messages; a NUL is still refused.
        #expect(Command(bytes: [Array("cat".utf8), name]).arguments == ["cat", "f\u{FFFD}"])
        await #expect(throws: ConfineError.self) { try await executor.checkOutput(bytes: [Array("cat".utf8), [0x61, 0, 0x62]]) }
    }

    @Test func anEnvironmentThatIsNotUTF8ReachesTheCommandByteForByte() async throws {
        let value: [UInt8] = [0x63, 0x61, 0x66, 0xe9]   // "café" in Latin-1
        let name: [UInt8] = [0x4e, 0xff]                 // a name that is not UTF-8 either
        let exact: [[UInt8]: [UInt8]] = [Array("PATH".utf8): Array("/usr/bin:/bin".utf8), Array("X".utf8): value, name: value]
        let shown = try await executor.checkOutput(bytes: [Array("sh".utf8), Array("-c".utf8), Array(#"printf %s "$X"; printf '|%s' "$HOME" | head -c 2"#.utf8)],
                                                  environmentBytes: exact)
        #expect(shown == value + Array("|/".utf8), "HOME is added as for any command: \(shown.text)")
        let all = try await executor.checkOutput(bytes: [Array("env".utf8)], environmentBytes: exact)
        #expect(all.split(separator: 0x0a).contains(name + [0x3d] + value))
        // The readable form is what `environment` says; a NUL or an '=' in a name is refused.
        var command = Command(["env"])
        command.environmentBytes = exact
        #expect(command.environment?["X"] == "caf\u{FFFD}")
        for bad: [[UInt8]: [UInt8]] in [[Array("A=B".utf8): [0x31]], [[]: [0x31]], [Array("A".utf8): [0x31, 0, 0x32]]] {
            await #expect(throws: ConfineError.self) { try await executor.checkOutput(bytes: [Array("true".utf8)], environmentBytes: bad) }
        }
    }

    @Test func aGrantIsUsedAsGivenSoItMustBeCanonical() async throws {
        // The launcher opens a grant without following links and never resolves it again (a
        // link swapped in after a check must not redirect it): a path through a link is refused.
        let folder = "/var/tmp/confine-grant-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder + "/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: folder + "/real")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var command = Command(["true"], stdin: .null, stdout: .pipe, stderr: .pipe)
        command.filesystemGrants[folder + "/link"] = .readOnly
        await #expect(throws: ConfineError.self) { try await executor.execute(command) }
        command.filesystemGrants = [folder + "/real": .readOnly]
        #expect(try await executor.execute(command).returnCode == 0)
    }

    @Test func bothPipesDrainAtOnce() async throws {
        // 8 MiB to each stream, interleaved: reading one then the other would deadlock.
        let result = try await executor.run(
            ["sh", "-c", "head -c 8388608 /dev/zero & head -c 8388608 /dev/zero >&2; wait"], captureOutput: true,
            policy: variant(Policies.default) { $0.outputLimit = 32 << 20 })
        #expect(result.stdout?.count == 8 << 20)
        #expect(result.stderr?.count == 8 << 20)
    }

    @Test func badArgumentsAreClearErrors() async throws {
        for (args, fragment) in [([String](), "empty"), (["ec\u{0}ho"], "NUL"), ([""], "empty")] {
            do {
                _ = try await executor.checkOutput(args)
                Issue.record("expected an error for \(args)")
            } catch let error as ConfineError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains(fragment), "\(error.message)")
            }
        }
        do {
            _ = try await executor.checkOutput(["true"], timeout: .seconds(-1))
            Issue.record("expected an error")
        } catch let error as ConfineError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("negative"))
        }
        await #expect(throws: ConfineError.self) { _ = try await executor.run(["true"], input: [1], stdin: .null) }
    }

    @Test func commandListsAreEnforcedBeforeStart() async throws {
        let strict = try Executor(policy: Policies.strict)
        #expect(try await strict.checkOutput(["echo", "ok"]).text == "ok\n")
        do {
            _ = try await strict.checkOutput(["sh", "-c", "echo no"])
            Issue.record("expected a refusal")
        } catch let error as ConfineError {
            #expect(error.code == .refused)
            #expect(error.exitStatus == 126)
            #expect(error.message.contains("commands.allow"))
            #expect(error.message.contains("strict"))
        }
        let denying = variant(Policies.default) { $0.commands.deny = ["/bin/cat"] }
        await #expect(throws: ConfineError.self) { _ = try await executor.checkOutput(["cat", "/etc/hostname"], policy: denying) }
    }

    @Test func aFilterWithoutExecveRefusesTheCommand() async throws {
        let noExec = Policy(name: "no-exec", seccomp: SeccompProfile(syscalls: [SyscallRule(names: ["@default"], action: .allow)].map {
            var rule = $0
            rule.names = ["read", "write", "exit_group"]
            return rule
        }))
        do {
            _ = try await executor.checkOutput(["true"], policy: noExec)
            Issue.record("expected a refusal")
        } catch let error as ConfineError {
            #expect(error.code == .refused)
            #expect(error.message.contains("execve"))
        }
    }

    @Test func policyTimeoutAppliesWhenTheCallGivesNone() async throws {
        let quick = variant(Policies.default) { $0.timeout = .milliseconds(200) }
        let result = try await executor.execute(Command(["sleep", "60"], policy: quick))
        #expect(result.status == .timeout)
        #expect(result.returnCode == -SIGKILL)
        #expect(result.wallTime < .seconds(30), "killed at the policy's deadline, not after the sleep")
    }

    @Test func concurrentCallsStayCorrectAndLeakFree() async throws {
        _ = try await executor.checkOutput(["true"])
        let before = openDescriptors()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for i in 0..<40 {
                        let output = try await executor.checkOutput(["echo", "\(task)-\(i)"])
                        #expect(output.text == "\(task)-\(i)\n")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(openDescriptors() < before + 24)
    }

    @Test func aDeadSpawnHelperIsRestarted() async throws {
        let executor = try Executor(policy: Policies.default)
        _ = try await executor.checkOutput(["true"])
        let helper = try #require(executor.helper.processIdentifier)
        kill(helper, SIGKILL)
        try await Task.sleep(for: .milliseconds(100))
        #expect(executor.helper.processIdentifier == nil)
        // The next call starts another helper and works.
        #expect(try await executor.checkOutput(["echo", "again"]).text == "again\n")
        #expect(executor.helper.processIdentifier != helper)
    }

    @Test func resultRecordsTimesAndMemory() async throws {
        let result = try await executor.run(["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"], captureOutput: true)
        #expect(result.status == .ok)
        #expect(result.userTime + result.systemTime > .zero)
        #expect(result.maxRSS > 0)
        #expect(result.wallTime > .zero)
        #expect(result.pid > 0)
        #expect(result.policy == "default")
    }
}
