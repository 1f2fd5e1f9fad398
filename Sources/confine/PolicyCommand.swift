import ArgumentParser
import ConfinePolicy
import Foundation

extension ConfineCommand {
    struct PolicyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy",
            abstract: "List and show policies.",
            subcommands: [List.self, Show.self]
        )

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the policies found in the search path.")

            func run() throws {
                let reader = PolicyReader()
                var seen = Set<String>()
                for directory in reader.searchPaths {
                    let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
                    for file in files where seen.insert(String(file.dropLast(5))).inserted {
                        let path = directory + "/" + file
                        do {
                            let policy = try reader.load(path)
                            print("\(String(file.dropLast(5)).padding(toLength: 10, withPad: " ", startingAt: 0)) \(policy.description)")
                        } catch {
                            print("\(String(file.dropLast(5)).padding(toLength: 10, withPad: " ", startingAt: 0)) (invalid: \(error))")
                        }
                    }
                }
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a policy with its includes applied and groups expanded.")

            @Argument(help: "A policy name or file.")
            var name: String

            func run() throws {
                let policy = loadPolicy(name)
                print("policy \(policy.name) (\(policy.source ?? "-"))")
                if !policy.description.isEmpty { print("  \(policy.description)") }
                print("  user: \(policy.user)")
                print("  timeout: \(policy.timeout.map(Quantity.format) ?? "none"), outputLimit: \(policy.outputLimit.map { Quantity.format(bytes: UInt64($0)) } ?? "none")")
                print("  rlimits: " + policy.rlimits.entries.map { "\($0.name)=\($0.value)" }.joined(separator: " "))
                print("  environment: " + policy.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
                print("  commands: allow [\(policy.commands.allow.joined(separator: ", "))] deny [\(policy.commands.deny.joined(separator: ", "))]")
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
                if let filter = try? PolicyCompiler.compile(policy.seccomp) {
                    print("  compiled: \(filter.instructionCount) BPF instructions")
                }
            }
        }
    }
}
