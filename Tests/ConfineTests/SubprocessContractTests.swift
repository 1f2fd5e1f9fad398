import Confine
import ConfinePolicy
import Foundation
import Testing

/// CPython's test_subprocess cases, mirrored: same programs, same expectations, confined.
@Suite struct SubprocessContractTests {
    let python = Executors.python

    @Test func test_check_output() async throws {
        let output = try await python.checkOutput(["python3", "-c", "print('BDFL')"])
        #expect(output.text.contains("BDFL"))
    }

    @Test func test_check_output_nonzero() async throws {
        do {
            _ = try await python.checkOutput(["python3", "-c", "import sys; sys.exit(5)"])
            Issue.record("expected CalledProcessError")
        } catch let error as CalledProcessError {
            #expect(error.returnCode == 5)
            #expect(error.output == [])
        }
    }

    @Test func test_check_output_stderr() async throws {
        let output = try await python.checkOutput(["python3", "-c", "import sys; sys.stderr.write('BDFL')"], stderr: .stdout)
        #expect(output.text.contains("BDFL"))
    }

    @Test func test_check_output_input_arg() async throws {
        let output = try await python.checkOutput(
            ["python3", "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())"], input: Array("pear".utf8))
        #expect(output.text.contains("PEAR"))
    }

    @Test func test_check_call_nonzero() async throws {
        do {
            try await python.checkCall(["python3", "-c", "import sys; sys.exit(47)"])
            Issue.record("expected CalledProcessError")
        } catch let error as CalledProcessError {
            #expect(error.returnCode == 47)
        }
    }

    @Test func test_call_timeout() async throws {
        await #expect(throws: TimeoutExpired.self) {
            _ = try await python.call(["python3", "-c", "while True: pass"], timeout: .milliseconds(100))
        }
    }

    @Test func test_timeout() async throws {
        await #expect(throws: TimeoutExpired.self) {
            _ = try await python.run(["python3", "-c", "import time; time.sleep(3600)"], timeout: .milliseconds(1))
        }
    }

    @Test func test_check_output_timeout() async throws {
        let started = ContinuousClock.now
        do {
            _ = try await python.checkOutput(
                ["python3", "-c", "import sys, time\nsys.stdout.write('BDF')\nsys.stdout.flush()\ntime.sleep(3600)"],
                timeout: .seconds(3))
            Issue.record("expected TimeoutExpired")
        } catch let error as TimeoutExpired {
            #expect(error.output?.text == "BDF", "the partial output is kept")
            #expect(error.timeout == 3.0)
            // CPython: Command '['python3', '-c', "import sys, time\nsys...(3600)"]' timed out after 3.0 seconds
            #expect(error.description == #"Command '['python3', '-c', "import sys, time\nsys.stdout.write('BDF')\nsys.stdout.flush()\ntime.sleep(3600)"]' timed out after 3.0 seconds"#)
        }
        #expect(started.duration(to: .now) < .seconds(60))
    }

    @Test func test_communicate_pipe_buf() async throws {
        // Far more than a pipe buffer in both directions at once: no deadlock, nothing lost.
        let input = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let result = try await python.run(
            ["python3", "-c", "import sys\ndata = sys.stdin.buffer.read()\nsys.stdout.buffer.write(data)\nsys.stderr.buffer.write(data)"],
            input: input, captureOutput: true)
        #expect(result.returnCode == 0)
        #expect(result.stdout == input)
        #expect(result.stderr == input)
    }

    @Test func test_stdout_stderr_pipe() async throws {
        let result = try await python.run(
            ["python3", "-c", "import sys\nsys.stdout.write('apple')\nsys.stdout.flush()\nsys.stderr.write('orange')"],
            stdout: .pipe, stderr: .stdout)
        #expect(result.stdout?.text == "appleorange")
        #expect(result.stderr == nil)
    }

    @Test func test_cwd() async throws {
        // A folder the policy admits as a working directory (a system tree like /usr is refused).
        let folder = "/var/tmp/confine-cwd-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let output = try await python.checkOutput(["python3", "-c", "import os; print(os.getcwd())"], workingDirectory: folder)
        #expect(output.text == folder + "\n")
    }

    @Test func test_env() async throws {
        setenv("CONFINE_TEST_SECRET", "hunter2", 1)
        let output = try await python.checkOutput(
            ["python3", "-c", "import os; print(os.getenv('FRUIT')); print(os.getenv('CONFINE_TEST_SECRET'))"],
            environment: ["FRUIT": "orange", "PATH": "/usr/bin:/bin"])
        #expect(output.text == "orange\nNone\n", "the given environment, and nothing of the caller's")
        let policyEnvironment = try await Executors.default.checkOutput(["env"])
        #expect(!policyEnvironment.text.contains("CONFINE_TEST_SECRET"))
        #expect(policyEnvironment.text.contains("PATH=/usr/local/bin:/usr/bin:/bin"))
    }

    @Test func test_exception_bad_executable() async throws {
        do {
            _ = try await python.checkOutput(["/nonexistent/bin/program"])
            Issue.record("expected an error")
        } catch let error as ConfineError {
            #expect(error.code == .notFound)
            #expect(error.errno == ENOENT)
            #expect(error.exitStatus == 127)
        }
        let notExecutable = FileManager.default.temporaryDirectory.appendingPathComponent("confine-not-executable-\(getpid())").path
        FileManager.default.createFile(atPath: notExecutable, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o644])
        defer { try? FileManager.default.removeItem(atPath: notExecutable) }
        do {
            _ = try await python.checkOutput([notExecutable])
            Issue.record("expected an error")
        } catch let error as ConfineError {
            #expect(error.code == .permissionDenied)
            #expect(error.exitStatus == 126)
        }
    }

    @Test func test_exception_cwd() async throws {
        do {
            _ = try await python.checkOutput(["python3", "-c", "pass"], workingDirectory: "/nonexistent/directory")
            Issue.record("expected an error")
        } catch let error as ConfineError {
            #expect(error.code == .workingDirectory)
            #expect(error.path == "/nonexistent/directory")
            #expect(error.message.contains("/nonexistent/directory"))
        }
    }

    @Test func test_run_abort() async throws {
        let result = try await python.run(["python3", "-c", "import os; os.abort()"], captureOutput: true)
        #expect(result.returnCode == -SIGABRT)
        #expect(result.status == .signal)
    }

    @Test func test_CalledProcessError_str_signal() async throws {
        do {
            try await Executors.default.checkCall(["sh", "-c", "kill -9 $$"])
            Issue.record("expected CalledProcessError")
        } catch let error as CalledProcessError {
            #expect(error.returnCode == -9)
            #expect(error.description == "Command '['sh', '-c', 'kill -9 $$']' died with <Signals.SIGKILL: 9>.")
        }
    }

    @Test func test_CalledProcessError_str_non_zero() async throws {
        do {
            try await Executors.default.checkCall(["false"])
            Issue.record("expected CalledProcessError")
        } catch let error as CalledProcessError {
            #expect(error.description == "Command '['false']' returned non-zero exit status 1.")
        }
        #expect(CalledProcessError(returnCode: -99, cmd: ["x"]).description == "Command '['x']' died with unknown signal 99.")
        #expect(CalledProcessError(returnCode: 2, cmd: ["it's"]).description == "Command '[\"it's\"]' returned non-zero exit status 2.")
        // CPython: Command '['a\x01b', 'tab\t', 'é', '\x85']' returned non-zero exit status 1.
        #expect(CalledProcessError(returnCode: 1, cmd: ["a\u{01}b", "tab\t", "é", "\u{85}"]).description
                == #"Command '['a\x01b', 'tab\t', 'é', '\x85']' returned non-zero exit status 1."#)
    }

    @Test func test_no_leaking() async throws {
        // More commands than the policy's 256 descriptors: a leak of even one descriptor per
        // command would show as hundreds (other tests run alongside, hence the small slack).
        _ = try await Executors.default.checkOutput(["true"])
        let before = openDescriptors()
        for _ in 0..<300 {
            let output = try await Executors.default.checkOutput(["cat"], input: Array("lime".utf8))
            #expect(output.text == "lime")
        }
        #expect(openDescriptors() < before + 24)
        // And the command itself sees only its three standard descriptors.
        let open = try await Executors.default.checkOutput([probe, "fds-open"])
        #expect(open.text.split(separator: " ").map(String.init).joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines) == "0 1 2")
    }

    @Test func blockingVariantsBehaveAlike() throws {
        let output = try Executors.default.checkOutput(["echo", "blocking"])
        #expect(output.text == "blocking\n")
        #expect(throws: CalledProcessError.self) { try Executors.default.checkCall(["false"]) }
        #expect(try Executors.default.call(["sh", "-c", "exit 7"]) == 7)
        #expect(throws: TimeoutExpired.self) { try Executors.default.run(["sleep", "10"], timeout: .milliseconds(50)) }
    }

    @Test func topLevelCheckOutputUsesTheDefaultPolicy() async throws {
        let listing = try await checkOutput(["ls", "-l", "/usr"])
        #expect(listing.text.contains("bin"))
    }
}
