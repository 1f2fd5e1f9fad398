import Foundation
import HTTPTypes

/// A request the service refuses: an HTTP status with Function Compute's error body
/// (`{"Code", "Message", "RequestId"}`), the code naming what was wrong.
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Seconds, for 429 and 503 answers.
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// The audit log's outcome word for this refusal.
    var outcome: String {
        switch status.code {
        case 401: "unauthorized"
        case 403: "forbidden"
        case 429: "rate-limited"
        case 503: "overloaded"
        case 500...: "error"
        default: "bad-request"
        }
    }

    func body(requestID: String) -> [UInt8] {
        let object: [String: String] = ["Code": code, "Message": message, "RequestId": requestID]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return [UInt8](data)
    }
}
