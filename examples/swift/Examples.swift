import ConfineRuntime
import Foundation

/// The seed's handlers in Swift, next to their Python originals in examples/.
public enum Examples {
    /// Registers every example under its handler name (`examples.jsonKey`, ...).
    public static func register(in registry: HandlerRegistry) {
        registry.register("examples.jsonKey", JSONKey())
        registry.register("examples.listDirectory", ListDirectory())
    }

    /// `json.loads(event)['key']`.
    public struct JSONKey: FunctionHandler {
        public init() {}
        public func handle(_ event: [UInt8], context: FunctionContext) async throws -> [UInt8] {
            guard let object = try JSONSerialization.jsonObject(with: Data(event)) as? [String: Any] else {
                throw FunctionError("TypeError", "the event is not a JSON object")
            }
            guard let value = object["key"] else { throw FunctionError("KeyError", "'key'") }
            if let text = value as? String { return Array(text.utf8) }
            return Array(try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]))
        }
    }

    /// `subprocess.check_output(['ls', '-l'])`, confined by the function's policy.
    public struct ListDirectory: FunctionHandler {
        public init() {}
        public func handle(_ event: [UInt8], context: FunctionContext) async throws -> [UInt8] {
            try await context.executor.checkOutput(["ls", "-l"])
        }
    }
}
