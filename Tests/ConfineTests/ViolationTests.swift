import Confine
import ConfinePolicy
import Foundation
import Testing

/// Refused calls are named in the result (seccomp user notification), and `learn` finds what
/// a command needs.
@Suite struct ViolationTests {
    @Test func refusedSyscallIsNamedWithItsArguments() async throws {
        let result = try await Executors.default.run([probe, "socket-inet"], stdin: .null, captureOutput: true)
        #expect(result.stdout?.text.hasPrefix("refused errno=EPERM") == true, "still refused, with the policy's errno")
        let call = try #require(result.refused.first)
        #expect(call.name == "socket")
        #expect(call.description == "socket(AF_INET, SOCK_STREAM, 0)")
        #expect(call.errno == 1)
        // With a PID namespace (the default policy) result.pid is the namespace's init; the command is its child.
        #expect(call.pid == result.pid || call.pid > result.pid)
    }

    @Test func refusalsInDescendantsAreNamedToo() async throws {
        let result = try await Executors.default.run(["sh", "-c", "\(probe) ptrace >/dev/null; \(probe) tiocsti >/dev/null; true"], captureOutput: true)
        let names = Set(result.refused.map(\.name))
        #expect(names.contains("ptrace"))
        #expect(result.refused.contains { $0.pid != result.pid }, "the calls came from the children")
    }

    @Test func reportingCanBeTurnedOff() async throws {
        let quiet = try Executor(policy: Policies.default, reportRefusals: false)
        let result = try await quiet.run([probe, "socket-inet"], stdin: .null, captureOutput: true)
        #expect(result.stdout?.text.hasPrefix("refused errno=EPERM") == true)
        #expect(result.refused.isEmpty)
    }

    @Test func allowedCommandsReportNothing() async throws {
        let result = try await Executors.default.run(["cat", "/etc/hostname"], captureOutput: true)
        #expect(result.returnCode == 0)
        #expect(result.refused.isEmpty, "\(result.refused)")
        // ls -l asks nscd over AF_UNIX for user names; the default policy says no, and (an
        // expected probe, seccomp.quiet) does not report it.
        let listing = try await Executors.default.run(["ls", "-l", "/usr"], captureOutput: true)
        #expect(listing.returnCode == 0)
        #expect(listing.refused.isEmpty, "\(listing.refused)")
        // The same call refused all the same, and reported, without the quiet entry; another
        // AF_UNIX socket (not the probe's flags) is reported under the shipped policy.
        let loud = variant(Policies.default) { $0.seccomp.quiet = [] }
        let reported = try await Executors.default.run(["ls", "-l", "/usr"], captureOutput: true, policy: loud)
        #expect(reported.refused.map(\.description) == ["socket(AF_UNIX, SOCK_STREAM, 0)"])
        #expect(reported.stdout == listing.stdout)
        let other = try await Executors.default.run(["python3", "-c", "import socket; socket.socket(socket.AF_UNIX)"], captureOutput: true)
        #expect(other.refused.map(\.name) == ["socket"], "\(other.refused)")
    }

    @Test func aQuietEntryIsCheckedLikeARule() throws {
        func load(_ quiet: String) throws -> Policy {
            try PolicyReader().parse(Array(#"{"version": 1, "seccomp": {"quiet": \#(quiet)}}"#.utf8), file: "/tmp/q.json")
        }
        #expect(try load(#"[{"names": ["socket"], "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]"#).seccomp.quiet.first?.names == ["socket"])
        for (bad, field) in [(#"[{"names": ["sockett"]}]"#, "seccomp.quiet[0].names[0]"),
                             (#"[{"names": ["socket"], "args": [{"index": 4, "value": 1, "op": "SCMP_CMP_EQ"}]}]"#, "seccomp.quiet[0].args[0].index"),
                             (#"[{"names": ["socket"], "action": "SCMP_ACT_ALLOW"}]"#, "seccomp.quiet[0]"),
                             (#"{"names": ["socket"]}"#, "seccomp.quiet")] {
            do {
                _ = try load(bad)
                Issue.record("\(bad) must be refused")
            } catch let error as PolicyError {
                #expect(error.path.hasPrefix(field), "\(error)")
            }
        }
    }

    @Test func learningFindsWhatACommandNeeds() async throws {
        var empty = Policies.default
        empty.seccomp = SeccompProfile()
        let learner = try Executor(policy: empty)
        let (result, syscalls) = try await learner.learn(Command(["ls", "-l", "/usr"], stdin: .null, stdout: .pipe))
        #expect(result.returnCode == 0, "the learning run went through")
        #expect(result.stdout?.text.contains("bin") == true)
        for needed in ["openat", "getdents64", "write", "mmap"] { #expect(syscalls.contains(needed), "\(needed)") }
        let families = result.refused.filter { $0.name == "socket" }.compactMap(\.arguments.first)
        let text = try LearnedPolicy.json(name: "ls", description: "test", syscalls: syscalls, socketFamilies: families,
                                          base: nil, limits: Policies.default)
        let learned = try PolicyReader().parse(Array(text.utf8), file: "/tmp/ls-learned.json")
        let again = try await Executors.default.run(["ls", "-l", "/usr"], captureOutput: true, policy: learned)
        #expect(again.returnCode == 0)
        #expect(again.refused.isEmpty, "\(again.refused)")
        #expect(PolicyAuditor().audit(learned).label <= .safe)
    }
}
