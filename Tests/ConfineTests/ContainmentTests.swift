import Confine
import ConfinePolicy
import Foundation
import Testing

/// Resource attacks under the shipped policy (or a variant with a smaller limit, to keep the
/// suite fast): each is stopped by a limit, and nothing of it outlives the call.
@Suite struct ContainmentTests {
    let executor = Executors.default

    func probeRun(_ args: [String], policy: Policy = Policies.default) async throws -> CompletedProcess {
        try await executor.run([probe] + args, stdin: .null, captureOutput: true, policy: policy)
    }

    @Test func forkBombHitsTheProcessLimit() async throws {
        let result = try await probeRun(["forkbomb"])
        #expect(result.returnCode == 0)
        #expect(result.stdout?.text.hasPrefix("contained") == true, "\(result.stdout?.text ?? "")")
    }

    @Test func memoryHogHitsTheAddressSpaceLimit() async throws {
        let result = try await probeRun(["memory"])
        #expect(result.stdout?.text.hasPrefix("contained") == true, "\(result.stdout?.text ?? "")")
        #expect(result.maxRSS < 1_200 << 20)
    }

    @Test func cpuSpinIsKilledByTheCPULimit() async throws {
        let result = try await probeRun(["cpu"], policy: variant(Policies.default) { $0.rlimits.cpu = .limited(1) })
        #expect(result.returnCode == -SIGXCPU || result.returnCode == -SIGKILL)
        #expect(result.userTime + result.systemTime >= .milliseconds(500), "it spun until the limit")
    }

    @Test func hugeFileStopsAtTheSizeLimit() async throws {
        let path = "/tmp/confine-bigfile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let result = try await probeRun(["bigfile", path], policy: variant(Policies.default) {
            $0.rlimits.fsize = .limited(1 << 20)
            $0.isolation.filesystem?.readWrite.append("/tmp")
        })
        #expect(result.stdout?.text.hasPrefix("contained bytes=1048576") == true, "\(result.stdout?.text ?? "")")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func descriptorExhaustionStopsAtTheLimit() async throws {
        let result = try await probeRun(["fds"])
        let text = result.stdout?.text ?? ""
        #expect(text.hasPrefix("contained"), "\(text)")
        let count = text.split(separator: " ").first { $0.hasPrefix("fds=") }.flatMap { Int($0.dropFirst(4)) } ?? Int.max
        #expect(count <= 256)
    }

    @Test func outputFloodIsCappedAndTimedOut() async throws {
        let policy = variant(Policies.default) {
            $0.outputLimit = 1 << 20
            // Long enough for a loaded machine (the whole suite in parallel on two cores) to
            // start the probe: 700 ms once ended before it wrote a byte. The flood fills the cap
            // in milliseconds once it runs.
            $0.timeout = .seconds(3)
        }
        let result = try await executor.execute(Command([probe, "flood"], stdin: .null, stdout: .pipe, stderr: .pipe, policy: policy))
        #expect(result.status == .timeout)
        #expect(result.stdout?.count == 1 << 20, "memory holds the cap, not the flood")
        #expect(result.stdoutBytes > 1 << 20, "what is over the cap is drained and counted")
        #expect(result.stdoutTruncated)
    }

    @Test func outputOverTheCapIsReportedAsSuch() async throws {
        let policy = variant(Policies.default) { $0.outputLimit = 1000 }
        let result = try await executor.run(["head", "-c", "5000", "/dev/zero"], captureOutput: true, policy: policy)
        #expect(result.status == .outputLimit)
        #expect(result.stdout?.count == 1000)
        #expect(result.stdoutBytes == 5000)
        #expect(result.returnCode == 0)
    }

    @Test func doubleForkedDaemonDoesNotOutliveTheCall() async throws {
        let pidfile = "/tmp/confine-daemon-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: pidfile) }
        // Without a PID namespace, so that the pid the daemon writes is the host's (with one, the
        // namespace's teardown kills it: see IsolationTests).
        let result = try await probeRun(["daemon", pidfile], policy: variant(Policies.default) {
            $0.isolation.filesystem?.readWrite.append("/tmp")
            $0.isolation.pidNamespace = false
        })
        #expect(result.returnCode == 0)
        let pid = try #require(Int32((try? String(contentsOfFile: pidfile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        #expect(result.descendantsKilled)
        #expect(!isAlive(pid), "the setsid daemon \(pid) was killed with the call")
    }

    @Test func timeoutKillsTheWholeTree() async throws {
        let marker = "1000.\(UInt32.random(in: 1000...99999))"
        do {
            _ = try await executor.checkOutput(["sh", "-c", "sleep \(marker) & sleep \(marker) & echo started; wait"], timeout: .seconds(1))
            Issue.record("expected TimeoutExpired")
        } catch let error as TimeoutExpired {
            #expect(error.output?.text == "started\n")
        }
        #expect(processes(matching: "sleep \(marker)").isEmpty)
    }

    @Test func cancellingTheTaskKillsTheTree() async throws {
        let marker = "2000.\(UInt32.random(in: 1000...99999))"
        let task = Task { try await executor.run(["sh", "-c", "sleep \(marker) & sleep \(marker)"]) }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(processes(matching: "sleep \(marker)").isEmpty)
    }
}

/// Failure paths that must end, never hang.
@Suite struct HangTests {
    @Test func execFailureUnderAFilterWithoutWriteStillReports() async throws {
        // A program only root may run: the leased uid's execve fails with EACCES after the filter
        // (which refuses even write) is in place. The failure must still come back.
        let directory = "/tmp/confine-hang-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let program = directory + "/prog"
        FileManager.default.createFile(atPath: program, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o700])
        var policy = Policies.default
        policy.seccomp = SeccompProfile(syscalls: [SyscallRule(names: ["execve"], action: .allow)])
        let started = ContinuousClock.now
        do {
            _ = try await Executors.default.run([program], policy: policy)
            Issue.record("expected a permission error")
        } catch let error as ConfineError {
            if error.code != .permissionDenied { Issue.record("unexpected: \(error.message)") }
        }
        #expect(started.duration(to: .now) < .seconds(60))
    }

    @Test func aKilledMonitorDoesNotHangTheCallOrLeaveTheCommand() async throws {
        let marker = "3000.\(UInt32.random(in: 1000...99999))"
        async let result = Executors.default.execute(Command(["sleep", marker], stdin: .null, timeout: .seconds(30)))
        var found: Int32?
        for _ in 0..<200 where found == nil {  // up to 20 s on a loaded machine
            try await Task.sleep(for: .milliseconds(100))
            found = processes(matching: "sleep \(marker)").first
        }
        let sleeper = try #require(found)
        let status = try String(contentsOfFile: "/proc/\(sleeper)/status", encoding: .utf8)
        let monitor = try #require(status.split(separator: "\n").first { $0.hasPrefix("PPid:") }.flatMap { Int32($0.split(separator: "\t").last ?? "") })
        kill(monitor, SIGKILL)
        let started = ContinuousClock.now
        do { _ = try await result } catch {}
        #expect(started.duration(to: .now) < .seconds(20), "the call ends without the monitor")
        try await Task.sleep(for: .milliseconds(100))
        #expect(processes(matching: "sleep \(marker)").isEmpty, "the command was killed by the executor itself")
    }
}
