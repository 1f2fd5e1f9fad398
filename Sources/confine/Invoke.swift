import ArgumentParser
import ConfineExamples
import ConfinePolicy
import ConfineRuntime
import Foundation

extension ConfineCommand {
    struct Invoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invoke a configured function locally: the result on stdout, or FC's error JSON and exit 1.",
            discussion: "The function's log goes to stderr. Exit status: 0 with a result, 1 with a handler error, 2 for a bad configuration or usage."
        )

        @Argument(help: "The function's name in the configuration.") var function: String
        @Option(help: "The functions file (default: $CONFINE_FUNCTIONS, else ./functions.json).") var config: String?
        @Option(help: "The event: text, @FILE to read a file, or - for stdin (default: empty).") var event: String?

        func run() throws {
            let path = config ?? ProcessInfo.processInfo.environment["CONFINE_FUNCTIONS"] ?? "functions.json"
            let configuration: FunctionConfiguration
            do { configuration = try FunctionConfiguration.load(path) } catch { fail("\(error)", status: 2) }
            var bytes: [UInt8] = []
            if let event {
                if event == "-" {
                    bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
                } else if event.hasPrefix("@") {
                    guard let data = FileManager.default.contents(atPath: String(event.dropFirst())) else {
                        fail("--event \(event): the file cannot be read", status: 2)
                    }
                    bytes = [UInt8](data)
                } else {
                    bytes = Array(event.utf8)
                }
            }
            let registry = HandlerRegistry()
            Examples.register(in: registry)
            let runtime: FunctionRuntime
            do { runtime = try FunctionRuntime(configuration: configuration, registry: registry) } catch { fail("\(error)", status: 2) }
            let event = bytes
            let invocation = try blocking { await runtime.invoke(function, event: event) }
            FileHandle.standardError.write(Data(invocation.log))
            switch invocation.result {
            case .success(let result):
                FileHandle.standardOutput.write(Data(result))
            case .failure(let error):
                FileHandle.standardOutput.write(Data(error.json + [0x0a]))
                Foundation.exit(1)
            }
        }
    }
}
