import ConfineCommandLine
import ArgumentParser
import Confine
import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

extension ConfineCommand {
    struct PolicyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy",
            abstract: "List, show, compare and import policies.",
            subcommands: [List.self, Show.self, Diff.self, Import.self, Export.self, Learn.self]
        )

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the policies found in the search path (the checkout's policies/, $CONFINE_POLICY_PATH, /etc/confine/policies, PREFIX/share/confine/policies), then those built in.")

            func run() throws {
                let reader = PolicyReader()
                var seen = Set<String>()
                for directory in reader.searchPaths {
                    let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
                    for file in files where seen.insert(String(file.dropLast(5))).inserted {
                        let path = directory + "/" + file
                        do {
                            let policy = try reader.load(path)
                            print("\(TextFormat.padded(String(file.dropLast(5)), 10)) \(policy.description)")
                        } catch {
                            print("\(TextFormat.padded(String(file.dropLast(5)), 10)) (invalid: \(error))")
                        }
                    }
                }
                // the policies built into Confine, for names no folder holds
                for name in PolicyReader.builtInNames where seen.insert(name).inserted {
                    guard let policy = try? PolicyReader(searchPaths: []).load(name) else { continue }
                    print("\(TextFormat.padded(name, 10)) \(policy.description) (built in)")
                }
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a policy with its includes applied and groups expanded.")

            @Argument(help: "A policy name or file.")
            var name: String

            func run() throws {
                let policy = loadPolicy(name)
                print("policy \(policy.name) (\(policy.source ?? "-"))")
                if !policy.description.isEmpty { print("  \(policy.description)") }
                print("  user: \(policy.user)")
                print("  timeout: \(policy.timeout.map(Quantity.format) ?? "none"), outputLimit: \(policy.outputLimit.map { Quantity.format(bytes: UInt64($0)) } ?? "none")")
                // sizes in bytes shown as sizes (the policy file may say "1GiB"), cpu in seconds
                print("  rlimits: " + (policy.rlimits.entries.isEmpty ? "none" : "") + policy.rlimits.entries.map { entry in
                    guard case .limited(let n) = entry.value, ["as", "fsize", "stack", "memlock", "data"].contains(entry.name) else {
                        guard case .limited = entry.value, entry.name == "cpu" else { return "\(entry.name)=\(entry.value)" }
                        return "\(entry.name)=\(entry.value)s"
                    }
                    return "\(entry.name)=\(Quantity.format(bytes: n))"
                }.joined(separator: " "))
                print("  environment: " + (policy.environment.isEmpty ? "none" : "") + policy.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
                print("  commands: allow [\(policy.commands.allow.joined(separator: ", "))] deny [\(policy.commands.deny.joined(separator: ", "))]")
                for line in PolicyCommand.show(isolation: policy.isolation) { print(line) }
                print("  seccomp: default \(policy.seccomp.defaultAction), architectures \(policy.seccomp.architectures.map(\.rawValue).joined(separator: ", "))")
                let plan = FilterPlan(policy.seccomp)
                for name in plan.entries.keys.sorted() {
                    guard let entry = plan.entries[name] else { continue }
                    var parts: [String] = []
                    if let base = entry.base { parts.append("\(base.action)") }
                    for (rule, action) in entry.conditional {
                        parts.append("\(action) if " + rule.args.map { "arg\($0.index) \($0.op.rawValue) 0x\(String($0.value, radix: 16))" + ($0.op == .maskedEqual ? " == 0x\(String($0.valueTwo, radix: 16))" : "") }.joined(separator: " && "))
                    }
                    print("    \(name): \(parts.joined(separator: "; "))")
                }
                for quiet in policy.seccomp.quiet {
                    let condition = quiet.args.map { "arg\($0.index) \($0.op.rawValue) 0x\(String($0.value, radix: 16))" }.joined(separator: " && ")
                    print("  quiet (refused, not reported): \(quiet.names.joined(separator: ", "))\(condition.isEmpty ? "" : " if " + condition) (\(quiet.origin ?? "-"))")
                }
                if let filter = try? PolicyCompiler.compile(policy.seccomp) {
                    print("  compiled: \(filter.instructionCount) BPF instructions")
                }
            }
        }

        /// Every part of `isolation`, as the policy file spells it (sizes as sizes).
        static func show(isolation: Isolation) -> [String] {
            guard !isolation.isEmpty else { return ["  isolation: none (syscalls and rlimits only)"] }
            var lines = ["  isolation: required \(isolation.required) (\(isolation.required ? "a part this host lacks is an error" : "a part this host lacks is a warning"))"]
            if let fs = isolation.filesystem {
                lines.append("    filesystem: workingDirectory \(fs.workingDirectory.rawValue), grants \(fs.grants.rawValue), tmp \(fs.tmp.map { Quantity.format(bytes: $0) } ?? "none"), readOnlyRoot \(fs.readOnlyRoot), writableExecutable \(fs.writableExecutable)")
                lines.append("      readOnly: \(fs.readOnly.isEmpty ? "none" : fs.readOnly.joined(separator: " "))")
                lines.append("      readWrite: \(fs.readWrite.isEmpty ? "none" : fs.readWrite.joined(separator: " "))")
                lines.append("      workingDirectories: \(fs.workingDirectories.joined(separator: " "))")
            } else {
                lines.append("    filesystem: no view (every path the command's uid may open)")
            }
            lines.append("    network: \(isolation.network == .none ? "none (loopback only)" : "host")")
            lines.append("    processes: namespace \(isolation.pidNamespace), max \(isolation.maxProcesses.map(String.init) ?? "none")")
            lines.append("    ipc: \(isolation.privateIPC ? "private (and /dev/shm)" : "host")")
            lines.append("    memory: \(isolation.memory.map { Quantity.format(bytes: $0) } ?? "none"), cpu: \(isolation.cpu.map { "\($0) cores" } ?? "none")")
            return lines
        }

        struct Diff: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "diff",
                abstract: "What policy B permits that policy A does not (+), and what it takes away (-).",
                discussion: "Exit status: 0 when B permits nothing more than A, 1 when it does, 2 when a policy cannot be read."
            )

            @Argument(help: "The policy before (name or file).") var a: String
            @Argument(help: "The policy after (name or file).") var b: String

            func run() throws {
                let diff = PolicyDiff(from: loadPolicy(a), to: loadPolicy(b))
                if diff.changes.isEmpty { print("no difference in what the policies permit") }
                for change in diff.changes { print(change) }
                if diff.widens { Glibc.exit(1) }
            }
        }

        struct Import: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "import",
                abstract: "Convert an OCI/Docker seccomp profile into a Confine policy.",
                discussion: "Rules are selected for the capabilities, architecture and kernel given; what cannot be expressed is reported on stderr, one warning a line. Exit status: 0, or 2 when the profile cannot be read."
            )

            @Argument(help: "The profile (e.g. moby's profiles/seccomp/default.json).") var profile: String
            @Option(name: .customLong("cap"), help: "A capability the commands would hold (CAP_SYS_ADMIN, ...). Repeatable; default none, as Confine grants none.")
            var capabilities: [String] = []
            @Option(help: "The architecture to select rules for (amd64, arm64, ...).") var arch: String = "amd64"
            @Option(help: "The kernel version to select rules for (default: this machine's).") var kernel: String?
            @Option(help: "The policy's name (default: the profile's file name).") var name: String?
            @Option(name: .shortAndLong, help: "Write the policy here instead of to stdout (a regular file is replaced atomically; a device or FIFO is written in place).") var output: String?
            @Option(help: "The policy whose isolation (filesystem view, namespaces, cgroup caps) the imported one keeps.") var base: String = "base"
            @Flag(help: "Leave isolation out: the policy confines by its syscall filter alone.") var withoutIsolation = false

            func run() throws {
                guard let data = FileManager.default.contents(atPath: profile) else { fail("\(profile): cannot be read", status: 2) }
                let isolation = withoutIsolation ? nil : loadPolicy(base).isolation
                var system = utsname()
                uname(&system)
                let running = withUnsafeBytes(of: system.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                // Every value checked: an unknown one would silently select other rules.
                var caps: Set<String> = []
                for given in capabilities {
                    guard let name = ProfileImporter.capability(given) else {
                        fail("--cap '\(given)' is not a Linux capability (accepted: a name of capabilities(7), with or without CAP_, in any case: CAP_SYS_ADMIN, net_raw, ...)", status: 2)
                    }
                    caps.insert(name)
                }
                let architecture = ProfileImporter.canonicalArch(arch)
                guard ProfileImporter.architectureNames.contains(architecture) else {
                    fail("--arch '\(arch)' is not an architecture seccomp profiles name (accepted: amd64, arm64, 386, \(ProfileImporter.architectureNames.joined(separator: ", ")))", status: 2)
                }
                if let kernel, !ProfileImporter.isKernelVersion(kernel) {
                    fail("--kernel '\(kernel)' is not a kernel version (accepted: dotted numbers such as 6.1 or 6.18.0-1-amd64)", status: 2)
                }
                if architecture != ProfileImporter.nativeArch {
                    StandardStream.error.write("confine: warning: rules are selected for \(architecture), but the policy's filter is built for the machine that runs it (SCMP_ARCH_NATIVE, here \(ProfileImporter.nativeArch)): calls are matched by name there\n")
                }
                let importer = ProfileImporter(capabilities: caps, architecture: arch, kernel: kernel ?? running, isolation: isolation)
                let stem = URL(fileURLWithPath: profile).deletingPathExtension().lastPathComponent
                let result: ProfileImporter.Result
                do { result = try importer.convert([UInt8](data), file: profile, name: name ?? stem) } catch { fail("\(error)", status: 2) }
                for warning in result.warnings { StandardStream.error.write("confine: warning: \(warning)\n") }
                StandardStream.error.write("confine: \(result.rulesKept) rules imported; \(result.rulesNotApplicable) not applicable (other capabilities, architectures or kernels); \(result.rulesNotExpressible) not expressible\(result.unknownToLibseccomp.isEmpty ? "" : "; \(result.unknownToLibseccomp.count) calls of this machine this libseccomp cannot name get the default action (\(result.unknownToLibseccomp.joined(separator: ", ")))")\n")
                StandardStream.error.write("confine: \(isolation.map { "it keeps the isolation of \(base): \($0.summary) (--without-isolation leaves it out)" } ?? "no isolation (--without-isolation): only the syscall filter confines it")\n")
                if let output {
                    do { try OutputFile.write(result.json, to: output) } catch { fail("-o \(error)", status: 2) }
                } else {
                    StandardStream.output.write(result.json)
                }
            }
        }

        struct Export: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "export",
                abstract: "Write a policy's seccomp filter as an OCI/Docker seccomp profile.",
                discussion: """
                    The profile (defaultAction, defaultErrnoRet, architectures, syscalls with names, action, \
                    errnoRet and args) is what `docker run --security-opt seccomp=FILE`, Podman and \
                    Kubernetes' `seccompProfile: {type: Localhost}` take. Groups are expanded to the calls this \
                    machine knows; a call whose rule has argument comparisons gets its unconditional action \
                    first and each exception after it. What a profile cannot carry (rlimits, isolation, \
                    commands, timeout, output limit, environment, user, quiet probes) is listed on stderr. \
                    Exit status: 0, or 2 when the policy cannot be read.
                    """
            )

            enum Format: String, ExpressibleByArgument, CaseIterable { case oci }

            @Option(help: "oci: an OCI runtime-spec / Docker seccomp profile.") var format: Format = .oci
            @Argument(help: "The policy: a name or a file.") var policy: String
            @Option(name: .shortAndLong, help: "Write the profile here instead of to stdout.") var output: String?

            func run() throws {
                let loaded = loadPolicy(policy)
                let (text, dropped) = Self.profile(of: loaded)
                for part in dropped { StandardStream.error.write("confine: not in the profile: \(part)\n") }
                if let output {
                    do { try OutputFile.write(text, to: output) } catch { fail("-o \(error)", status: 2) }
                } else {
                    StandardStream.output.write(text)
                }
            }

            /// The OCI profile of a policy's filter, and what of the policy it leaves out.
            static func profile(of policy: Policy) -> (json: String, dropped: [String]) {
                func action(_ action: SeccompAction) -> [String: Any] {
                    switch action {
                    case .allow: ["action": "SCMP_ACT_ALLOW"]
                    case .errno(let e): ["action": "SCMP_ACT_ERRNO", "errnoRet": Int(e)]
                    case .killProcess: ["action": "SCMP_ACT_KILL_PROCESS"]
                    case .killThread: ["action": "SCMP_ACT_KILL_THREAD"]
                    case .trap: ["action": "SCMP_ACT_TRAP"]
                    case .log: ["action": "SCMP_ACT_LOG"]
                    }
                }
                let plan = FilterPlan(policy.seccomp)
                // The rules libseccomp-based runtimes apply as the policy means them (an exception
                // to an allowed call, such as the TIOCSTI guard, as the allowed call's complement:
                // runc would otherwise let the unconditional rule win), grouped by action and
                // comparisons, in a stable order.
                let expanded: [PolicyCompiler.ExpandedRule]
                do { expanded = try PolicyCompiler.expandedRules(plan) { $0 == policy.seccomp.defaultAction } } catch {
                    fail("policy '\(policy.name)' cannot be written as a profile: \(error)", status: 2)
                }
                var groups: [(key: String, names: [String], rule: [String: Any])] = []
                var index: [String: Int] = [:]
                for rule in expanded where Syscalls.number(of: rule.name) != nil {
                    let key = "\(rule.action)|\(rule.args)"
                    if let i = index[key] { groups[i].names.append(rule.name); continue }
                    var object = action(rule.action)
                    if !rule.args.isEmpty {
                        object["args"] = rule.args.map { ["index": $0.index, "value": $0.value, "valueTwo": $0.valueTwo, "op": $0.op.rawValue] as [String: Any] }
                    }
                    index[key] = groups.count
                    groups.append((key, [rule.name], object))
                }
                let architectures = policy.seccomp.architectures.flatMap { arch -> [String] in
                    arch == .native ? [ProfileImporter.nativeOCIArchitecture] : [arch.rawValue]
                }
                var profile: [String: Any] = action(policy.seccomp.defaultAction).reduce(into: [:]) { out, pair in
                    out[pair.key == "action" ? "defaultAction" : "defaultErrnoRet"] = pair.value
                }
                profile["architectures"] = architectures
                profile["syscalls"] = groups.map { group -> [String: Any] in
                    var rule = group.rule
                    rule["names"] = group.names
                    return rule
                }
                var dropped: [String] = []
                if !policy.rlimits.entries.isEmpty { dropped.append("rlimits (" + policy.rlimits.entries.map(\.name).joined(separator: ", ") + ")") }
                if !policy.isolation.isEmpty { dropped.append("isolation (\(policy.isolation.summary))") }
                if !policy.commands.allow.isEmpty || !policy.commands.deny.isEmpty { dropped.append("commands (allow and deny lists)") }
                if policy.timeout != nil { dropped.append("timeout") }
                if policy.outputLimit != nil { dropped.append("outputLimit") }
                if !policy.environment.isEmpty { dropped.append("environment") }
                if policy.user != .automatic { dropped.append("user") }
                if !policy.seccomp.quiet.isEmpty { dropped.append("seccomp.quiet (refused probes not reported: a profile has no reports)") }
                return (JSONValue(any: profile).text(pretty: true) + "\n", dropped)
            }
        }
    }
}
