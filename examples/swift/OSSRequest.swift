import ConfineRuntime
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Object Storage Service requests signed with the V1 scheme (HMAC-SHA1 over the verb, the
/// content headers, the date, the x-oss-* headers and the resource), path-style.
enum OSSRequest {
    static func put(endpoint: String, bucket: String, object: String, body: [UInt8], credentials: Credentials, date: Date) throws -> URLRequest {
        guard let url = URL(string: "\(endpoint)/\(bucket)/\(object)") else {
            throw FunctionError("ValueError", "'\(endpoint)' is not a URL")
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let httpDate = formatter.string(from: date)
        let contentType = "application/octet-stream"
        var ossHeaders: [(String, String)] = []
        if !credentials.securityToken.isEmpty { ossHeaders.append(("x-oss-security-token", credentials.securityToken)) }
        let canonicalHeaders = ossHeaders.sorted { $0.0 < $1.0 }.map { "\($0.0):\($0.1)\n" }.joined()
        let stringToSign = "PUT\n\n\(contentType)\n\(httpDate)\n\(canonicalHeaders)/\(bucket)/\(object)"
        let key = SymmetricKey(data: Data(credentials.accessKeySecret.utf8))
        let signature = Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(stringToSign.utf8), using: key)).base64EncodedString()
        var request = URLRequest(url: url)
        request.httpMethod = "PUT"
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        request.setValue(httpDate, forHTTPHeaderField: "Date")
        request.setValue("OSS \(credentials.accessKeyID):\(signature)", forHTTPHeaderField: "Authorization")
        for (name, value) in ossHeaders { request.setValue(value, forHTTPHeaderField: name) }
        request.setValue(String(body.count), forHTTPHeaderField: "Content-Length")
        return request
    }

    /// Sends the request; returns the HTTP status.
    static func send(_ request: URLRequest, body: [UInt8]) async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let task = URLSession.shared.uploadTask(with: request, from: Data(body)) { _, response, error in
                if let error { continuation.resume(throwing: FunctionError("ConnectionError", error.localizedDescription)); return }
                continuation.resume(returning: (response as? HTTPURLResponse)?.statusCode ?? 0)
            }
            task.resume()
        }
    }
}
