import ArgumentParser
import ConfineRuntime
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

extension ConfineCommand {
    struct Invoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "invoke",
            abstract: "Invoke a configured function locally: the result on stdout, or FC's error JSON and exit 1.",
            discussion: """
                The function's log goes to stderr. Exit status: 0 with a result, 1 with a handler error, 2 for a bad \
                configuration or usage. Python and executable handlers run here; a Swift handler is registered by the \
                program that embeds the runtime, so such a function is handed to confine-server (which registers the \
                examples) when it is installed beside confine.
                """
        )

        @Argument(help: "The function's name in the configuration.") var function: String
        @Option(help: "The functions file (default: $CONFINE_FUNCTIONS, else ./functions.json).") var config: String?
        @Option(help: "The event: text, @FILE to read a file, or - for stdin (default: empty).") var event: String?

        func run() throws {
            let function = function, config = config, event = event
            switch try blocking({ await LocalInvocation.run(function, file: config, event: event, registry: HandlerRegistry()) }) {
            case .exit(let status): Glibc.exit(status)
            case .unregisteredSwiftHandler(let handler):
                Server.handOver(because: "function '\(function)' has the Swift handler '\(handler)', which confine-server registers")
            }
        }
    }
}
