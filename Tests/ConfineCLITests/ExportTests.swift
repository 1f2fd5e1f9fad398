import ConfinePolicy
import Foundation
import Testing

/// `confine policy export --format oci`: a shipped policy's filter as an OCI/Docker profile,
/// what it leaves out said on stderr, and the round trip through `policy import` widening nothing.
@Suite struct ExportTests {
    let cli = CLITests()

    @Test(arguments: ["default", "network", "python", "strict"])
    func anExportedProfileImportsBackWithoutWidening(_ name: String) throws {
        let folder = "/var/tmp/confine-export-\(getpid())-\(name)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let exported = try cli.confine(["policy", "export", "--format", "oci", name, "-o", folder + "/profile.json"])
        #expect(exported.status == 0, "\(exported.stderr)")
        for part in ["rlimits", "isolation", "timeout"] { #expect(exported.stderr.contains("not in the profile: \(part)"), "\(exported.stderr)") }

        // The profile has OCI's shape.
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/profile.json"))
        let profile = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(profile["defaultAction"] as? String == "SCMP_ACT_ERRNO" && profile["defaultErrnoRet"] as? Int == 1)
        #expect(profile["architectures"] as? [String] == ["SCMP_ARCH_X86_64"])
        let rules = profile["syscalls"] as? [[String: Any]] ?? []
        #expect(!rules.isEmpty && rules.allSatisfy { ($0["names"] as? [String])?.isEmpty == false && ($0["action"] as? String)?.hasPrefix("SCMP_ACT_") == true })
        #expect(Set(profile.keys).isSubset(of: ["defaultAction", "defaultErrnoRet", "architectures", "syscalls"]), "\(profile.keys)")

        // Imported back: nothing the original refuses is allowed, for every call this machine
        // knows and the argument values the shipped rules compare (socket families, clone
        // flags, ioctl requests, personality values).
        let imported = try cli.confine(["policy", "import", folder + "/profile.json", "--base", name, "-o", folder + "/back.json"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let original = FilterPlan(try PolicyReader().load(name).seccomp)
        let back = FilterPlan(try PolicyReader().load(folder + "/back.json").seccomp)
        let probes: [[UInt64]] = [[], [1, 1, 0], [2, 1, 0], [10, 2, 0], [16, 3, 0], [0x7E020000], [0x10000000], [1, 0x5412, 0], [8], [0xffffffff], [0x11]]
        for name in Syscalls.names.values.sorted() {
            for arguments in probes {
                let was = original.decide(name, arguments: arguments).action
                let now = back.decide(name, arguments: arguments).action
                #expect(!(now == .allow && was != .allow), "\(name)\(arguments): \(was) became \(now)")
            }
        }
        // And `policy diff` says no call is added.
        let diff = try cli.confine(["policy", "diff", name, folder + "/back.json"])
        #expect(!diff.text.split(separator: "\n").contains { $0.hasPrefix("+ ") && !$0.hasPrefix("+ isolation") && !$0.hasPrefix("+ rlimit") && !$0.hasPrefix("+ commands") && !$0.hasPrefix("+ timeout") && !$0.hasPrefix("+ output") }, "\(diff.text)")
    }
}
