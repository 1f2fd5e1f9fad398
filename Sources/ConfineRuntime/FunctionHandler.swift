import Confine
import FoundationEssentials

/// A function written in Swift: event bytes in, result bytes out.
public protocol FunctionHandler: Sendable {
    /// - Throws: anything; the invocation reports it as `{errorMessage, errorType, stackTrace}`.
    func handle(_ event: [UInt8], context: FunctionContext) async throws -> [UInt8]
}

/// A handler from a closure.
public struct ClosureHandler: FunctionHandler {
    let body: @Sendable ([UInt8], FunctionContext) async throws -> [UInt8]
    public init(_ body: @escaping @Sendable ([UInt8], FunctionContext) async throws -> [UInt8]) { self.body = body }
    public func handle(_ event: [UInt8], context: FunctionContext) async throws -> [UInt8] { try await body(event, context) }
}

/// Swift handlers by handler name (`index.handler`), as a function's configuration names them.
public final class HandlerRegistry: @unchecked Sendable {
    private let lock = Lock()
    private var handlers: [String: any FunctionHandler] = [:]

    public init() {}

    public func register(_ name: String, _ handler: any FunctionHandler) {
        lock.lock()
        handlers[name] = handler
        lock.unlock()
    }

    public func handler(named name: String) -> (any FunctionHandler)? {
        lock.lock()
        defer { lock.unlock() }
        return handlers[name]
    }

    public var names: [String] {
        lock.lock()
        defer { lock.unlock() }
        return handlers.keys.sorted()
    }
}
