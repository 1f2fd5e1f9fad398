import CSeccomp
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
        // What a runtime does with it: every rule added to libseccomp in the file's order, as
        // runc does (libseccomp then picks among overlapping rules itself), the program it
        // builds run for the same calls: it decides as the policy does wherever the policy
        // refuses (the TIOCSTI guard of an allowed ioctl included).
        let runtime = try Self.libseccompProgram(profile)
        let compiled = BPFProgram(try PolicyCompiler.compile(try PolicyReader().load(name).seccomp))
        for name in Syscalls.names.values.sorted() {
            guard let nr = Syscalls.number(of: name) else { continue }
            for arguments in probes + [[0, 0x5412, 0], [0, 0xffff_ffff_0000_5412, 0]] {
                let policy = try compiled.evaluate(nr: nr, arguments: arguments + [0, 0, 0, 0, 0, 0])
                let docker = try runtime.evaluate(nr: nr, arguments: arguments + [0, 0, 0, 0, 0, 0])
                #expect(!(docker == .allow && policy != .allow), "\(name)\(arguments): the policy says \(policy), the runtime \(docker)")
            }
        }
        // And `policy diff` adds no call: its syscall lines are at most a note that a call's
        // argument conditions were rewritten (the complement form), which the decisions above
        // show widens nothing; the rest is what a profile cannot carry.
        let diff = try cli.confine(["policy", "diff", name, folder + "/back.json"])
        let widened = diff.text.split(separator: "\n").filter { $0.hasPrefix("+ syscalls") && !$0.hasSuffix("argument conditions changed (review them)") }
        #expect(widened.isEmpty, "\(diff.text)")
    }

    /// The BPF program libseccomp builds from an OCI profile's rules added in order.
    static func libseccompProgram(_ profile: [String: Any]) throws -> BPFProgram {
        func action(_ object: [String: Any], prefix: String = "") -> UInt32 {
            switch object[prefix.isEmpty ? "action" : "defaultAction"] as? String {
            case "SCMP_ACT_ALLOW": CSeccomp_actAllow()
            case "SCMP_ACT_ERRNO": CSeccomp_actErrno(UInt16(object[prefix.isEmpty ? "errnoRet" : "defaultErrnoRet"] as? Int ?? 1))
            case "SCMP_ACT_KILL_PROCESS": CSeccomp_actKillProcess()
            case "SCMP_ACT_KILL_THREAD": CSeccomp_actKillThread()
            case "SCMP_ACT_TRAP": CSeccomp_actTrap()
            default: CSeccomp_actLog()
            }
        }
        let ctx = try #require(seccomp_init(action(profile, prefix: "default")))
        defer { seccomp_release(ctx) }
        let ops: [String: scmp_compare] = ["SCMP_CMP_NE": SCMP_CMP_NE, "SCMP_CMP_LT": SCMP_CMP_LT, "SCMP_CMP_LE": SCMP_CMP_LE, "SCMP_CMP_EQ": SCMP_CMP_EQ,
                                           "SCMP_CMP_GE": SCMP_CMP_GE, "SCMP_CMP_GT": SCMP_CMP_GT, "SCMP_CMP_MASKED_EQ": SCMP_CMP_MASKED_EQ]
        for rule in profile["syscalls"] as? [[String: Any]] ?? [] {
            var comparisons = (rule["args"] as? [[String: Any]] ?? []).map { arg in
                scmp_arg_cmp(arg: UInt32(arg["index"] as? Int ?? 0), op: ops[arg["op"] as? String ?? ""] ?? SCMP_CMP_EQ,
                             datum_a: (arg["value"] as? NSNumber)?.uint64Value ?? 0, datum_b: (arg["valueTwo"] as? NSNumber)?.uint64Value ?? 0)
            }
            for name in rule["names"] as? [String] ?? [] {
                guard let nr = Syscalls.number(of: name) else { continue }
                let rc = seccomp_rule_add_array(ctx, action(rule), nr, UInt32(comparisons.count), &comparisons)
                #expect(rc == 0, "libseccomp refused \(name) \(rule): \(rc)")
            }
        }
        var raw: UnsafeMutablePointer<UInt8>?
        var length = 0
        #expect(CSeccomp_exportBPF(ctx, &raw, &length) == 0)
        defer { free(raw) }
        let bytes = raw.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
        return BPFProgram(CompiledFilter(bytes: bytes))
    }
}
