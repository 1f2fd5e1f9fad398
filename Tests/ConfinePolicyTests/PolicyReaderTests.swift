import ConfinePolicy
import Foundation
import Testing

/// The fixtures folder next to this file.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

func fixture(_ name: String) -> String { fixtures + "/" + name }

/// The error `load` throws for a fixture.
func policyError(_ name: String) -> PolicyError? {
    do {
        _ = try PolicyReader().load(fixture(name))
        return nil
    } catch {
        return error as? PolicyError
    }
}

@Suite struct PolicyReaderTests {
    @Test(arguments: ["base", "default", "strict", "network", "python"])
    func shippedPolicyLoadsAndCompiles(_ name: String) throws {
        let policy = try PolicyReader().load(name)
        #expect(policy.name == name)
        #expect(policy.source?.hasSuffix("policies/\(name).json") == true)
        #expect(policy.seccomp.defaultAction == .errno(1), "shipped policies are allow-lists answering EPERM")
        #expect(policy.timeout != nil)
        #expect(policy.outputLimit != nil)
        let filter = try PolicyCompiler.compile(policy.seccomp)
        #expect(filter.instructionCount > 10 && filter.instructionCount < 4096)
    }

    @Test func unknownKeyNamesFileLineAndPath() throws {
        let error = try #require(policyError("unknown-key.json"))
        #expect(error.file.hasSuffix("unknown-key.json"))
        #expect(error.line == 7)
        #expect(error.path == "seccomp.syscalls[1].nmes")
        #expect(error.message.contains("unknown field 'nmes'"))
        #expect(error.message.contains("names"), "it says what is accepted")
        #expect(error.description.hasPrefix(fixture("unknown-key.json") + ":7: seccomp.syscalls[1].nmes: "))
    }

    @Test func unknownSyscallIsNamedWithASuggestion() throws {
        let error = try #require(policyError("unknown-syscall.json"))
        #expect(error.line == 5)
        #expect(error.path == "seccomp.syscalls[0].names[1]")
        #expect(error.message.contains("unknown syscall 'wrte'"))
        #expect(error.message.contains("did you mean 'write'"))
        // a swap of two letters is one edit, as a letter too many or too few is
        for (typo, meant) in [("scoket", "socket"), ("sockett", "socket"), ("opneat", "openat"), ("exceve", "execve")] {
            #expect(Syscalls.closest(to: typo) == meant, "\(typo)")
        }
        #expect(Syscalls.closest(to: "banana") == nil)
    }

    @Test func badSizeSaysWhatIsAccepted() throws {
        let error = try #require(policyError("bad-size.json"))
        #expect(error.line == 5)
        #expect(error.path == "rlimits.as")
        #expect(error.message.contains("'64MeB'"))
        #expect(error.message.contains("MiB"))
    }

    @Test func includeCycleIsAnError() throws {
        let error = try #require(policyError("cycle-a.json"))
        #expect(error.message.contains("include cycle"))
        #expect(error.path == "include")
        #expect(error.line == 3)
    }

    @Test func unknownGroupListsTheGroups() throws {
        let error = try #require(policyError("unknown-group.json"))
        #expect(error.path == "seccomp.syscalls[0].names[0]")
        #expect(error.message.contains("unknown group '@file-sytem'"))
        #expect(error.message.contains("@file-system"))
    }

    @Test func syntaxErrorNamesTheLine() throws {
        let error = try #require(policyError("broken.json"))
        #expect(error.line == 4)
        #expect(error.message.contains("not valid JSON"))
    }

    @Test func negativeTimeoutIsRefused() throws {
        let error = try #require(policyError("negative-timeout.json"))
        #expect(error.path == "timeout")
        #expect(error.message.contains("negative"))
    }

    @Test func unknownActionListsTheActions() throws {
        let error = try #require(policyError("bad-action.json"))
        #expect(error.path == "seccomp.syscalls[0].action")
        #expect(error.message.contains("SCMP_ACT_ALLOWED"))
        #expect(error.message.contains("SCMP_ACT_KILL_PROCESS"))
    }

    @Test func missingFileAndUnknownNameAreErrors() throws {
        #expect(throws: PolicyError.self) { try PolicyReader().load("/nonexistent/policy.json") }
        do {
            _ = try PolicyReader().load("no-such-policy")
            Issue.record("expected an error")
        } catch let error as PolicyError {
            #expect(error.message.contains("no policy named 'no-such-policy'"))
            #expect(error.message.contains("default"), "it lists the available policies")
        }
        // an installed binary with no policy folder: it says where it looked, and what it has
        do {
            _ = try PolicyReader(searchPaths: []).load("no-such-policy")
            Issue.record("expected an error")
        } catch let error as PolicyError {
            #expect(error.message.contains("no policy named 'no-such-policy' in no policy folder (/etc/confine/policies"), "\(error.message)")
            #expect(error.message.contains("nor among the built-in ones (available: base, default, network, python, strict)"), "\(error.message)")
        }
    }

    @Test func includeMergesOverTheIncludedPolicy() throws {
        let policy = try PolicyReader().load(fixture("child.json"))
        let base = try PolicyReader().load("default")
        #expect(policy.name == "child")
        #expect(policy.rlimits.nofile == .limited(32))
        #expect(policy.rlimits.nproc == base.rlimits.nproc, "limits not named are inherited")
        #expect(policy.timeout == .seconds(2))
        #expect(policy.environment == ["PATH": "/usr/bin:/bin"])
        #expect(policy.seccomp.syscalls.count == base.seccomp.syscalls.count)
        #expect(policy.commands.deny == base.commands.deny)
    }

    @Test func textParsesFromMemoryWithTheGivenFileName() throws {
        let text = #"{"version": 1, "timeout": 1.5, "outputLimit": 4096, "user": {"uid": 1000, "gid": 1000}}"#
        let policy = try PolicyReader().parse(Array(text.utf8), file: "inline.json")
        #expect(policy.timeout == .milliseconds(1500))
        #expect(policy.outputLimit == 4096)
        #expect(policy.user == .ids(uid: 1000, gid: 1000))
        #expect(throws: PolicyError.self) { try PolicyReader().parse(Array(#"{"version": 2}"#.utf8), file: "v2.json") }
        #expect(throws: PolicyError.self) { try PolicyReader().parse(Array(#"{"environment": {"A=B": "x"}}"#.utf8), file: "env.json") }
        #expect(throws: PolicyError.self) { try PolicyReader().parse(Array(#"{"workingDirectory": "relative"}"#.utf8), file: "wd.json") }
    }
}

@Suite struct QuantityTests {
    @Test func sizes() {
        #expect(Quantity.parseSize("64MiB") == 64 << 20)
        #expect(Quantity.parseSize("1GiB") == 1 << 30)
        #expect(Quantity.parseSize("1.5KiB") == 1536)
        #expect(Quantity.parseSize("10MB") == 10_000_000)
        #expect(Quantity.parseSize("4096") == 4096)
        #expect(Quantity.parseSize("12B") == 12)
        #expect(Quantity.parseSize("64MeB") == nil)
        #expect(Quantity.parseSize("-1") == nil)
        #expect(Quantity.parseSize("99999999999TiB") == nil, "overflow is refused, not wrapped")
        #expect(Quantity.format(bytes: 64 << 20) == "64MiB")
    }

    @Test func durations() {
        #expect(Quantity.parseDuration("30s") == .seconds(30))
        #expect(Quantity.parseDuration("500ms") == .milliseconds(500))
        #expect(Quantity.parseDuration("2m") == .seconds(120))
        #expect(Quantity.parseDuration("1h") == .seconds(3600))
        #expect(Quantity.parseDuration("0.25") == .milliseconds(250))
        #expect(Quantity.parseDuration("-1s") == nil)
        #expect(Quantity.parseDuration("soon") == nil)
        #expect(Quantity.format(.milliseconds(300)) == "300ms")
        #expect(Quantity.format(.seconds(30)) == "30s")
    }
}
