import ConfineExamples
import ConfineRuntime
import ConfineService
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let examplesFunctions = repository.appendingPathComponent("examples/functions.json").path

let testKey = ServiceConfiguration.Key(id: "test-key", secret: "test-secret-0123456789", functions: ["*"],
                                       policies: ["default", "strict"], rateLimit: nil, burst: 1)
let strictKey = ServiceConfiguration.Key(id: "strict-key", secret: "strict-secret-0123456789", functions: ["ls", "json-key-swift"],
                                         policies: ["strict"], rateLimit: nil, burst: 1)

/// A scratch directory for one test's audit log.
func scratchDirectory() -> String {
    let path = NSTemporaryDirectory() + "confine-service-tests-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func makeService(keys: [ServiceConfiguration.Key] = [testKey, strictKey], concurrency: Int = 8, queue: Int = 64,
                 bodyLimit: Int = 1 << 20, grace: Duration = .seconds(5), database: String? = nil) async throws -> ConfineService {
    let functions = try FunctionConfiguration.load(examplesFunctions)
    let configuration = ServiceConfiguration(
        functions: functions, keys: keys, store: .sqlite(path: database ?? scratchDirectory() + "/audit.sqlite"),
        concurrency: concurrency, queueLimit: queue, bodyLimit: bodyLimit, grace: grace)
    let registry = HandlerRegistry()
    Examples.register(in: registry)
    return try await ConfineService(configuration: configuration, registry: registry)
}

/// Headers of a request signed as the official SDK signs it.
func signed(_ method: HTTPRequest.Method, _ target: String, body: [UInt8], key: ServiceConfiguration.Key = testKey,
            secret: String? = nil, contentType: String? = "application/json", extra: [String: String] = [:],
            date: Date = Date(), nonce: String = UUID().uuidString) -> HTTPFields {
    var headers = ["host": "localhost", "x-acs-action": "Test", "x-acs-version": "2023-03-30"]
    if let contentType { headers["content-type"] = contentType }
    headers.merge(extra) { $1 }
    let question = target.firstIndex(of: "?")
    let path = question.map { String(target[..<$0]) } ?? target
    let query = question.map { target[target.index(after: $0)...] } ?? ""
    let all = ACS3Signature.sign(method: method.rawValue, path: path, rawQuery: query, headers: headers, body: body,
                                 keyID: key.id, secret: secret ?? key.secret, date: date, nonce: nonce)
    var fields = HTTPFields()
    for (name, value) in all where name != "host" {
        if let field = HTTPField.Name(name) { fields[field] = value }
    }
    return fields
}

func json(_ object: Any) -> [UInt8] {
    (try? [UInt8](JSONSerialization.data(withJSONObject: object))) ?? []
}

func object(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
}

extension TestClientProtocol {
    /// A signed request; the response's status, headers and body.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ target: String, body: [UInt8] = [], key: ServiceConfiguration.Key = testKey,
              contentType: String? = "application/json", extra: [String: String] = [:]) async throws -> TestResponse {
        let headers = signed(method, target, body: body, key: key, contentType: contentType, extra: extra)
        return try await execute(uri: target, method: method, headers: headers, body: ByteBuffer(bytes: body))
    }

    func exec(_ spec: [String: Any], key: ServiceConfiguration.Key = testKey) async throws -> TestResponse {
        try await send(.post, "/v1/exec", body: json(spec), key: key)
    }
}

/// Whether any process runs a command line containing `marker`.
func processRunning(_ marker: String) -> Bool {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for pid in entries where pid.allSatisfy(\.isNumber) {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
        let line = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        if line.contains(marker) { return true }
    }
    return false
}

func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
