import ConfinePolicy
import Foundation
import Testing

@Suite struct ImportTests {
    func importDocker(caps: Set<String> = [], kernel: String = "6.1") throws -> ProfileImporter.Result {
        let text = try #require(FileManager.default.contents(atPath: fixture("docker-default.json")))
        return try ProfileImporter(capabilities: caps, architecture: "amd64", kernel: kernel)
            .convert([UInt8](text), file: fixture("docker-default.json"), name: "docker")
    }

    func policy(_ result: ProfileImporter.Result) throws -> Policy {
        try PolicyReader().parse(Array(result.json.utf8), file: "/tmp/docker-imported.json")
    }

    @Test func mobyStyleProfileImportsAndCompiles() throws {
        let result = try importDocker()
        let policy = try policy(result)
        #expect(policy.name == "docker")
        #expect(policy.seccomp.defaultAction == .errno(1))
        #expect(policy.seccomp.architectures == [.native])
        _ = try PolicyCompiler.compile(policy.seccomp)
        let plan = FilterPlan(policy.seccomp)
        #expect(plan.decide("read").action == .allow)
        #expect(plan.decide("mount").action == .errno(1), "CAP_SYS_ADMIN rules need the capability")
        #expect(plan.decide("clone3").action == .errno(38))
        #expect(plan.decide("clone", arguments: [0x11]).action == .allow)
        #expect(plan.decide("clone", arguments: [0x1000_0000]).action == .errno(1), "CLONE_NEWUSER refused by the mask")
        #expect(plan.decide("ptrace").action == .allow, "minKernel 4.8 holds on 6.1")
        #expect(plan.decide("bpf").action == .errno(1))
    }

    @Test func nothingIsDroppedSilently() throws {
        let warnings = try importDocker().warnings.joined(separator: "\n")
        #expect(warnings.contains("some_future_syscall"))
        #expect(warnings.contains("SCMP_ACT_TRACE"))
        #expect(warnings.contains("flags"))
        #expect(warnings.contains("archMap"))
        #expect(warnings.contains("docker-default.json:"), "warnings name the file and line")
    }

    @Test func capabilitiesAndKernelSelectRules() throws {
        let admin = try policy(importDocker(caps: ["CAP_SYS_ADMIN"]))
        let plan = FilterPlan(admin.seccomp)
        #expect(plan.decide("mount").action == .allow)
        #expect(plan.decide("clone3").action == .allow, "the ENOSYS rule is excluded for CAP_SYS_ADMIN")
        #expect(plan.decide("bpf").action == .errno(1), "bpf needs CAP_BPF as well")
        let old = try policy(importDocker(kernel: "4.4"))
        #expect(FilterPlan(old.seccomp).decide("ptrace").action == .errno(1))
    }

    @Test func capabilityArchitectureAndKernelNamesAreChecked() {
        #expect(ProfileImporter.capability("sys_admin") == "CAP_SYS_ADMIN")
        #expect(ProfileImporter.capability("Cap_Net_Raw") == "CAP_NET_RAW")
        #expect(ProfileImporter.capability("CAP_FOO") == nil && ProfileImporter.capability("") == nil)
        #expect(ProfileImporter.architectureNames.contains(ProfileImporter.canonicalArch("amd64")))
        #expect(ProfileImporter.architectureNames.contains(ProfileImporter.canonicalArch("SCMP_ARCH_AARCH64")))
        #expect(!ProfileImporter.architectureNames.contains(ProfileImporter.canonicalArch("sparc")))
        for good in ["6.1", "4.14.0", "6.18.0-1-amd64", "5"] { #expect(ProfileImporter.isKernelVersion(good), "\(good)") }
        for bad in ["banana", "", "6..1", "v6.1", "6.1.2.3.4"] { #expect(!ProfileImporter.isKernelVersion(bad), "\(bad)") }
    }

    @Test func notAProfileIsAnError() throws {
        #expect(throws: PolicyError.self) {
            _ = try ProfileImporter(kernel: "6.1").convert(Array("[1, 2]".utf8), file: "list.json", name: "x")
        }
        #expect(throws: PolicyError.self) {
            _ = try ProfileImporter(kernel: "6.1").convert(Array("{\"syscalls\": []}".utf8), file: "noaction.json", name: "x")
        }
    }
}

@Suite struct DiffTests {
    @Test func networkWidensDefault() throws {
        let diff = PolicyDiff(from: try PolicyReader().load("default"), to: try PolicyReader().load("network"))
        #expect(diff.widens)
        let lines = diff.changes.map(\.description)
        #expect(lines.contains("+ syscalls: connect: refused -> allowed"))
        #expect(lines.contains("+ syscalls: socket: refused -> allowed for some arguments"))
        #expect(lines.contains("+ timeout: 30s -> 1m") || lines.contains("+ timeout: 30s -> 60s"))
    }

    @Test func theReverseOnlyNarrows() throws {
        let diff = PolicyDiff(from: try PolicyReader().load("network"), to: try PolicyReader().load("default"))
        #expect(!diff.widens)
        #expect(diff.changes.contains { $0.description == "- syscalls: connect: allowed -> refused" })
    }

    @Test func limitsCommandsAndUserAreCompared() throws {
        let a = try PolicyReader().load("default")
        var b = a
        b.rlimits.nproc = .unlimited
        b.commands.deny = []
        b.user = .inherit
        b.outputLimit = nil
        let lines = PolicyDiff(from: a, to: b).changes.map(\.description)
        #expect(lines.contains("+ rlimits: nproc 64 -> unlimited"))
        #expect(lines.contains("+ commands: no longer denies /usr/bin/sudo"))
        #expect(lines.contains("+ user: automatic -> inherit"))
        #expect(lines.contains("+ outputLimit: 16MiB -> none"))
        #expect(PolicyDiff(from: a, to: a).changes.isEmpty)
    }
}
