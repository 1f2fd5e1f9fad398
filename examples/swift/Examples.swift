import ConfineRuntime
import Foundation

/// The seed's handlers in Swift, next to their Python originals in examples/.
public enum Examples {
    /// Registers every example under its handler name (`examples.jsonKey`, ...).
    public static func register(in registry: HandlerRegistry) {
        registry.register("examples.jsonKey", JSONKey())
        registry.register("examples.listDirectory", ListDirectory())
        registry.register("examples.ossPut", OSSPut())
    }

    /// `json.loads(event)['key']`.
    public struct JSONKey: FunctionHandler {
        public init() {}
        public func handle(_ event: [UInt8], context: FunctionContext) async throws -> [UInt8] {
            // Python's json.loads: any JSON value parses; what is not JSON is a JSONDecodeError.
            let parsed: Any
            do {
                parsed = try JSONSerialization.jsonObject(with: Data(event), options: [.fragmentsAllowed])
            } catch {
                let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "the data is not valid JSON"
                throw FunctionError("JSONDecodeError", "the event is not valid JSON: \(detail)")
            }
            guard let object = parsed as? [String: Any] else {
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

extension Examples {
    /// `bucket.put_object('my-object', ...)` with the function's STS credentials: an OSS V1
    /// signed, path-style PUT carrying `x-oss-security-token`, as oss2.StsAuth sends it.
    public struct OSSPut: FunctionHandler {
        public init() {}
        public func handle(_ event: [UInt8], context: FunctionContext) async throws -> [UInt8] {
            let endpoint = context.environment["OSS_ENDPOINT"] ?? "http://oss-cn-hangzhou-internal.aliyuncs.com"
            let bucket = context.environment["OSS_BUCKET"] ?? "my-bucket"
            let body = event.isEmpty ? Array("hello world".utf8) : event
            let request = try OSSRequest.put(endpoint: endpoint, bucket: bucket, object: "my-object", body: body,
                                             credentials: context.credentials, date: Date())
            let status = try await OSSRequest.send(request, body: body)
            guard status == 200 else { throw FunctionError("OssError", "PUT /\(bucket)/my-object answered HTTP \(status)") }
            return Array("success".utf8)
        }
    }
}
