import Confine
import FoundationEssentials

/// A failed invocation, in Function Compute's shape: `{"errorMessage", "errorType", "stackTrace"}`.
public struct FunctionError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var errorMessage: String
    public var errorType: String
    public var stackTrace: [String]

    public init(_ errorType: String, _ errorMessage: String, stackTrace: [String] = []) {
        self.errorType = errorType
        self.errorMessage = errorMessage
        self.stackTrace = stackTrace
    }

    public var description: String { "\(errorType): \(errorMessage)" }

    /// The error as the JSON body Function Compute returns.
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data(#"{"errorMessage":"unencodable error","errorType":"InternalError","stackTrace":[]}"#.utf8))
    }

    /// The error type of a Swift error thrown by a handler: CPython's names for the
    /// subprocess errors, the type's name otherwise.
    static func from(_ error: any Error) -> FunctionError {
        switch error {
        case let e as FunctionError: return e
        case let e as CalledProcessError: return FunctionError("CalledProcessError", e.description)
        case let e as TimeoutExpired: return FunctionError("TimeoutExpired", e.description)
        case let e as ConfineError:
            let type = switch e.code {
            case .notFound: "FileNotFoundError"
            case .permissionDenied, .refused, .workingDirectoryNotAdmitted, .grantNotAdmitted: "PermissionError"
            default: "ConfineError"
            }
            return FunctionError(type, e.message)
        default:
            return FunctionError(String(describing: type(of: error)), String(describing: error))
        }
    }
}
