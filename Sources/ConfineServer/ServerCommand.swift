import ArgumentParser
import ConfineCommandLine
import ConfineExamples
import ConfineRuntime
import Foundation

/// `confine-server`: the HTTP service (`serve`), its audit log (`log`), and `invoke` for functions
/// with the Swift handlers it registers (the examples). `confine serve|log` hand over to it.
@main
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confine-server",
        abstract: "Confine's HTTP service: Function Compute's InvokeFunction and /v1/exec, signed, granted, audited.",
        subcommands: [Serve.self, Log.self, Invoke.self, Remote.self]
    )

    /// Parses and runs, with usage errors ending in status 2, as `confine`'s do.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            CommandLineExit.exit(for: error, of: self)
        }
    }

    struct Invoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "invoke",
            abstract: "Invoke a configured function locally, Swift handlers (the examples) included; as `confine invoke`.")

        @Argument(help: "The function's name in the configuration.") var function: String
        @Option(help: "The functions file (default: $CONFINE_FUNCTIONS, else ./functions.json).") var config: String?
        @Option(help: "The event: text, @FILE to read a file, or - for stdin (default: empty).") var event: String?

        func run() async throws {
            let registry = HandlerRegistry()
            Examples.register(in: registry)
            switch await LocalInvocation.run(function, file: config, event: event, registry: registry) {
            case .exit(let status): Foundation.exit(status)
            case .unregisteredSwiftHandler(let handler):
                fail("no Swift handler is registered as '\(handler)' (registered: \(registry.names.joined(separator: ", ")))", status: 1)
            }
        }
    }
}

