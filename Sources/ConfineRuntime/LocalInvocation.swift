import Confine
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// `confine invoke` and `confine-server invoke`: one function of a functions file, invoked
/// locally, the result on stdout (or FC's error JSON), the function's log on stderr.
public enum LocalInvocation {
    /// What became of the invocation.
    public enum Outcome: Sendable, Equatable {
        /// The exit status to end with: 0 with a result, 1 with a handler error, 2 for a bad
        /// configuration or event (the message is on stderr).
        case exit(Int32)
        /// The function has a Swift handler that `registry` lacks: only the program that
        /// registered it (e.g. `confine-server`) can run it.
        case unregisteredSwiftHandler(String)
    }

    /// - Parameters:
    ///   - function: the function's name in the file.
    ///   - file: the functions file (nil: `$CONFINE_FUNCTIONS`, else `./functions.json`).
    ///   - event: text, `@FILE` to read a file, `-` for stdin, nil for an empty event.
    ///   - registry: the Swift handlers this program has.
    ///   - program: the name that prefixes error lines ("confine").
    public static func run(_ function: String, file: String?, event: String?, registry: HandlerRegistry,
                           program: String = "confine") async -> Outcome {
        func fail(_ message: String) -> Outcome {
            StandardStream.error.write("\(program): \(message)\n")
            return .exit(2)
        }
        let path = file ?? ProcessInfo.processInfo.environment["CONFINE_FUNCTIONS"] ?? "functions.json"
        let configuration: FunctionConfiguration
        do { configuration = try FunctionConfiguration.load(path) } catch { return fail("\(error)") }
        if let entry = configuration.functions[function], entry.runtime == .swift, registry.handler(named: entry.handler) == nil {
            return .unregisteredSwiftHandler(entry.handler)
        }
        var bytes: [UInt8] = []
        if let event {
            if event == "-" {
                bytes = StandardStream.readInput()
            } else if event.hasPrefix("@") {
                guard let data = FileManager.default.contents(atPath: String(event.dropFirst())) else {
                    return fail("--event \(event): the file cannot be read")
                }
                bytes = [UInt8](data)
            } else {
                bytes = Array(event.utf8)
            }
        }
        let runtime: FunctionRuntime
        do { runtime = try FunctionRuntime(configuration: configuration, registry: registry) } catch { return fail("\(error)") }
        let invocation = await runtime.invoke(function, event: bytes)
        StandardStream.error.write(invocation.log)
        switch invocation.result {
        case .success(let result):
            StandardStream.output.write(result)
            return .exit(0)
        case .failure(let error):
            StandardStream.output.write(error.json + [0x0a])
            return .exit(1)
        }
    }
}
