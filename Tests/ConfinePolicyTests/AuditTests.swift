import Foundation
import ConfinePolicy
import Testing

@Suite struct AuditTests {
    let auditor = PolicyAuditor()

    @Test(arguments: ["base", "default", "strict", "network", "python"])
    func shippedPolicyIsSafeOrBetter(_ name: String) throws {
        let report = auditor.audit(try PolicyReader().load(name))
        #expect(report.label <= .safe, "\(name): \(report.exposure) \(report.label) \(report.findings.map(\.id))")
    }

    @Test func socketFindingsPointAtTheRuleThatDecidesAndNameTheFamiliesKeptOut() throws {
        // network.json: AF_UNIX at line 9, AF_INET from line 10 — each finding names its own rule
        let network = auditor.audit(try PolicyReader().load("network"))
        #expect(network.findings.first { $0.id == "network.inet" }?.origin?.hasSuffix("network.json:10") == true,
                "\(network.findings.map { "\($0.id) \($0.origin ?? "-")" })")
        #expect(network.findings.first { $0.id == "network.unix" }?.origin?.hasSuffix("network.json:9") == true)
        // moby's shape: socket allowed but for AF_ALG (38) and AF_VSOCK (40) is not "every family"
        let folder = NSTemporaryDirectory() + "audit-families-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/moby-like.json"
        try """
            { "version": 1, "include": "base",
              "seccomp": { "syscalls": [
                { "names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{ "index": 0, "value": 38, "op": "SCMP_CMP_LT" }] },
                { "names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{ "index": 0, "value": 39, "op": "SCMP_CMP_EQ" }] },
                { "names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{ "index": 0, "value": 40, "op": "SCMP_CMP_GT" }] } ] } }
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let moby = auditor.audit(try PolicyReader().load(file))
        let ids = moby.findings.map(\.id)
        #expect(!ids.contains("network.any-family"), "\(ids)")
        let most = try #require(moby.findings.first { $0.id == "network.most-families" })
        #expect(most.title == "socket is allowed for every address family but AF_ALG, AF_VSOCK", "\(most.title)")
        #expect(most.origin?.hasSuffix("moby-like.json:5") == true, "\(most.origin ?? "-")")
    }

    @Test func dangerousPolicyIsNamedFindingByFinding() throws {
        let report = auditor.audit(try PolicyReader().load(fixture("dangerous.json")))
        #expect(report.label == .dangerous)
        #expect(report.exposure == 10)
        let ids = Set(report.findings.map(\.id))
        for expected in [
            "seccomp.default-allow", "seccomp.non-native-arch", "user.root", "syscall.mount", "syscall.debug", "syscall.bpf",
            "syscall.io-uring", "syscall.namespace", "syscall.clone3-allowed", "syscall.ioctl-tiocsti", "syscall.personality",
            "syscall.keyring", "syscall.userfaultfd", "syscall.open_by_handle_at", "network.any-family", "network.raw",
            "network.inet", "rlimit.nproc.missing", "rlimit.cpu.missing", "timeout.missing", "output.missing",
            "environment.secret", "commands.exec-capable", "rules.duplicate",
        ] {
            #expect(ids.contains(expected), "missing \(expected)")
        }
        #expect(!ids.contains("syscall.reboot"), "reboot and both kexec calls are refused by their rules")
        let defaultAllow = try #require(report.findings.first { $0.id == "seccomp.default-allow" })
        #expect(defaultAllow.severity == .critical)
        #expect(defaultAllow.origin?.hasSuffix("dangerous.json:6") == true)
        let execCapable = report.findings.filter { $0.id == "commands.exec-capable" }
        #expect(Set(execCapable.map { $0.title.split(separator: " ")[2] }) == ["bash,", "python3.11,", "find,", "tar,"])
        #expect(execCapable.first { $0.title.contains("find") }?.why.contains("-exec") == true)
        #expect(execCapable.allSatisfy { $0.origin?.contains("dangerous.json:4") == true })
        let secret = try #require(report.findings.first { $0.id == "environment.secret" })
        #expect(secret.title.contains("API_TOKEN"))
        #expect(secret.origin?.hasSuffix("dangerous.json:14") == true)
        #expect(report.findings.first { $0.id == "rules.duplicate" }?.origin?.hasSuffix("dangerous.json:10") == true)
    }

    @Test func clone3AnsweringEPERMIsItsOwnFinding() throws {
        let text = #"{"version": 1, "seccomp": {"syscalls": [{"names": ["@default"], "action": "SCMP_ACT_ALLOW"}]}}"#
        let report = auditor.audit(try PolicyReader().parse(Array(text.utf8), file: "eperm.json"))
        #expect(report.findings.contains { $0.id == "syscall.clone3-eperm" })
        #expect(!report.findings.contains { $0.id == "syscall.clone3-allowed" })
    }

    @Test func filesWrittenThenRunAreCountedUnlessThePolicyClosesThem() throws {
        let open = auditor.audit(try PolicyReader().load("default"))
        #expect(open.findings.contains { $0.id == "isolation.filesystem.writable-executable" })
        let strict = auditor.audit(try PolicyReader().load("strict"))
        #expect(!strict.findings.contains { $0.id == "isolation.filesystem.writable-executable" })
        // required: false is a (small) finding of its own, at the field that says it
        #expect(strict.findings.contains { $0.id == "isolation.required-false" })
        var required = try PolicyReader().load("strict")
        required.isolation.required = true
        #expect(!PolicyAuditor().audit(required).findings.contains { $0.id == "isolation.required-false" })
        let text = #"{"version": 1, "include": "default", "isolation": {"filesystem": {"readOnly": ["/usr"], "writableExecutable": "no"}}}"#
        #expect(throws: PolicyError.self) { try PolicyReader().parse(Array(text.utf8), file: "w.json") }
        var closed = try PolicyReader().load("default")
        closed.isolation.filesystem?.writableExecutable = false
        let lines = PolicyDiff(from: closed, to: try PolicyReader().load("default")).changes.map(\.description)
        #expect(lines.contains("+ isolation.filesystem: files written may now be executed (writableExecutable true)"), "\(lines)")
    }

    @Test func weightsFileOverridesTheTable() throws {
        let weights = try AuditWeights.load(Array(try String(contentsOfFile: fixture("weights.json"), encoding: .utf8).utf8), file: fixture("weights.json"))
        let report = PolicyAuditor(weights: weights).audit(try PolicyReader().load("default"))
        #expect(report.exposure == 2.8)
        #expect(report.label == .ok)
        #expect(throws: PolicyError.self) {
            _ = try AuditWeights.load(Array(try String(contentsOfFile: fixture("bad-weights.json"), encoding: .utf8).utf8), file: fixture("bad-weights.json"))
        }
    }

    @Test func labelsFollowTheScale() {
        #expect(ExposureLabel(exposure: 0) == .perfect)
        #expect(ExposureLabel(exposure: 1.9) == .safe)
        #expect(ExposureLabel(exposure: 3) == .ok)
        #expect(ExposureLabel(exposure: 5) == .medium)
        #expect(ExposureLabel(exposure: 7) == .exposed)
        #expect(ExposureLabel(exposure: 9) == .unsafe)
        #expect(ExposureLabel(exposure: 10) == .dangerous)
        #expect(ExposureLabel(level: "Medium") == .medium)
        #expect(ExposureLabel(level: "bad") == nil)
    }
}
