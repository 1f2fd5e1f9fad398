import ArgumentParser
import ConfineCommandLine
import ConfinePolicy
import FoundationEssentials

/// `confine`: run commands inside seccomp and rlimit policies, check and inspect policies.
@main
struct ConfineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confine",
        abstract: "Run commands inside seccomp and rlimit policies.",
        discussion: """
            Exit status of `confine run`: the command's own status; 128+N when killed by signal N; \
            124 on timeout; 126 when the policy refuses the command or it is not executable; \
            127 when it is not found; 2 for a bad policy or bad usage.
            """,
        version: "confine \(ConfineVersion.string)",
        subcommands: [Run.self, Check.self, Audit.self, PolicyCommand.self, Invoke.self, Doctor.self, Serve.self, Log.self, Remote.self]
    )

    /// Parses and runs, with usage errors ending in status 2 (the README's exit statuses) rather
    /// than ArgumentParser's 64.
    static func main() {
        if CommandLine.arguments.count > 1, Server.commands.contains(CommandLine.arguments[1]) {
            Server.handOver(because: "confine \(CommandLine.arguments[1]) is confine-server's")
        }
        // `confine --help` and `--version` alone: said straight away (the help text is still
        // swift-argument-parser's), without the completion-script probe every parse starts with.
        if CommandLine.arguments.count == 2 {
            switch CommandLine.arguments[1] {
            case "--help", "-h":
                print(helpMessage())
                return
            case "--version":
                print(configuration.version)
                return
            default:
                break
            }
        }
        // `confine run`, the command run once per confined command, is parsed as a command of
        // its own: the root's parse first tries every argument as `--generate-completion-script`
        // (two more commands' option sets, built by reflection: ~2 ms of a ~18 ms run). Any
        // failure (help, a bad option) goes through the root, which says it as it always did.
        // (`parseAsRoot`, not `parse`: that first asks whether `Run` is a command, a dynamic
        // cast that scans the binary's protocol conformances, ~0.2 ms.)
        if CommandLine.arguments.count > 1, CommandLine.arguments[1] == Run.configuration.commandName,
           var run = (try? Run.parseAsRoot(Array(CommandLine.arguments.dropFirst(2)))) as? Run {
            do { try run.run() } catch { CommandLineExit.exit(for: error, of: self) }
            return
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            CommandLineExit.exit(for: error, of: self)
        }
    }
}

/// Options naming the policy.
struct PolicyOption: ParsableArguments {
    static let help: ArgumentHelp = "A policy name (looked up in policies/ and $CONFINE_POLICY_PATH) or a JSON file."

    @Option(name: .long, help: PolicyOption.help)
    var policy: String = "default"
}
