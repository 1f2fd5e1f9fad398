import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A request the service refuses: an HTTP status with Function Compute's error body
/// (`{"Code", "Message", "RequestId"}`), the code naming what was wrong.
public struct ServiceError: HTTPResponseError, Sendable, CustomStringConvertible {
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
        case 404: "not-found"
        case 413: "too-large"
        case 415: "unsupported-media-type"
        case 429: "rate-limited"
        case 503: code == "ServerShuttingDown" ? "shutting-down" : "overloaded"
        case 500...: "error"
        default: "bad-request"
        }
    }

    func body(requestID: String) -> [UInt8] {
        let object: [String: String] = ["Code": code, "Message": message, "RequestId": requestID]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return [UInt8](data)
    }

    /// The answer: the status, FC's error body with the request's id (`x-fc-request-id` too), and
    /// for 429 and 503 `Retry-After` and `x-acs-retry-after` (which makes the Alibaba Cloud SDKs
    /// raise their throttling error), in seconds.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let requestID = (context as? ServiceRequestContext)?.requestID ?? ConfineService.newRequestID()
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[ConfineService.requestIDHeader] = requestID
        if let retryAfter {
            headers[.retryAfter] = String(retryAfter)
            headers[ConfineService.acsRetryAfter] = String(retryAfter)
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body(requestID: requestID))))
    }
}
