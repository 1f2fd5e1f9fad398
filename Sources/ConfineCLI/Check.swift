import ConfineCommandLine
import ArgumentParser
import Confine
import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

extension ConfineCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Say whether a policy would let a command start, and which rule decides; optionally ask its compiled filter about syscalls.",
            usage: "confine check --policy P [--syscall NAME[:ARG,ARG...]]... [--path PATH [--write]]... [--cwd DIR] [-- CMD [ARG...]]"
        )

        @OptionGroup var policyOption: PolicyOption

        @Option(name: .customLong("syscall"), help: "Ask the compiled filter about a call, e.g. socket:2,1,0 or ioctl:1,0x5412. Repeatable.")
        var syscalls: [String] = []

        @Option(name: .customLong("path"), help: ArgumentHelp("Ask whether the policy's filesystem view admits a path, and by which rule. Repeatable.", valueName: "path"))
        var paths: [String] = []

        @Flag(help: "With --path: ask about writing, not reading.")
        var write = false

        @Option(name: .customLong("cwd"), help: "With --path: the working directory the command would start in (default: the current one).")
        var workingDirectory: String?

        @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, after --.")
        var command: [String] = []

        mutating func run() throws {
            command = passthroughCommand(command, of: Self.self, named: "check")
            let policy = loadPolicy(policyOption.policy)
            guard !command.isEmpty || !syscalls.isEmpty || !paths.isEmpty else {
                fail("nothing to check: give a command after --, --syscall NAME and/or --path PATH", status: 2)
            }
            if write && paths.isEmpty { fail("--write asks about writing a --path: give one", status: 2) }
            // policy files under the current folder named as the user would name them
            func say(_ line: String) { print(TextFormat.relativeOrigins(line)) }
            var status: Int32 = 0
            if !command.isEmpty {
                do {
                    let verdict = try CommandCheck.check(command, policy: policy)
                    let here = SystemCalls.realPath(workingDirectory ?? FileManager.default.currentDirectoryPath)
                    if let refusal = FilesystemView(policy: policy, workingDirectory: here).workingDirectoryRefusal() {
                        // what confine run meets at launch, said before anything runs
                        say("refused: \(refusal)")
                        status = 126
                    } else {
                        say("allowed: \(verdict.executable) under policy '\(policy.name)' (\(verdict.reason))")
                    }
                } catch let error as ConfineError {
                    say("refused: \(error.message)")
                    status = error.exitStatus
                }
            }
            if !syscalls.isEmpty {
                let filter: CompiledFilter
                do { filter = try PolicyCompiler.compile(policy.seccomp) } catch { fail("\(error)", status: 2) }
                let program = BPFProgram(filter)
                let plan = FilterPlan(policy.seccomp)
                for query in syscalls {
                    let parts = query.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                    let name = parts.first.map(String.init) ?? ""
                    guard let nr = Syscalls.number(of: name) else {
                        fail("--syscall '\(name)': unknown syscall on this architecture\(Syscalls.closest(to: name).map { " (did you mean '\($0)'?)" } ?? "")", status: 2)
                    }
                    var arguments: [UInt64] = []
                    if parts.count > 1 {
                        for text in parts[1].split(separator: ",") {
                            let trimmed = text.trimmingSpaces
                            let value = trimmed.hasPrefix("0x") ? UInt64(trimmed.dropFirst(2), radix: 16) : UInt64(trimmed)
                            guard let value else { fail("--syscall '\(query)': '\(trimmed)' is not a number (decimal or 0x hex)", status: 2) }
                            arguments.append(value)
                        }
                    }
                    let verdict: String
                    do { verdict = try program.evaluate(nr: nr, arguments: arguments).description } catch {
                        fail("evaluating the filter: \(error)", status: 2)
                    }
                    let decided = plan.decide(name, arguments: arguments)
                    let rule = decided.origin.map { "rule at \($0)" } ?? "default action"
                    say("\(name)(\(arguments.map { "0x" + String($0, radix: 16) }.joined(separator: ", "))): \(verdict) — \(rule)")
                }
            }
            if !paths.isEmpty {
                let view = FilesystemView(policy: policy, workingDirectory: workingDirectory ?? FileManager.default.currentDirectoryPath)
                let verb = write ? "write" : "read"
                for path in paths {
                    let decision = view.decide(path, write: write)
                    if decision.admitted && decision.reachable {
                        say("\(verb) \(path): allowed — \(decision.description)")
                    } else if decision.admitted {
                        // The view admits it, but the command's uid cannot use it: what run would meet.
                        say("\(verb) \(path): refused — admitted by \(decision.description), but the command's uid cannot \(write ? "write" : "read") it (see the note)")
                        status = 126
                    } else {
                        let rules = policy.isolation.filesystem?.workingDirectories ?? []
                        let resolved = SystemCalls.realPath(path) ?? path
                        let hint = WorkingDirectoryRules.decide(resolved, rules: rules).admitted
                            ? "grant it with \(write ? "--rw" : "--ro"), or run from its folder"
                            : "and the policy's workingDirectories admit no grant or working directory there"
                        say("\(verb) \(path): refused — \(decision.rule ?? "no rule of the view covers it (\(hint))")")
                        status = 126
                    }
                    for note in decision.notes { say("  note: \(note)") }
                }
            }
            Glibc.exit(status)
        }
    }
}
