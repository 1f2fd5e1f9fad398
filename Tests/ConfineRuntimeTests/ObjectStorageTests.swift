import ConfineExamples
import ConfineRuntime
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The local OSS-compatible endpoint (Tests/Fixtures/oss_server.py): it checks each request's
/// OSS signature and x-oss-security-token, and keeps what was stored.
final class OSSServer: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let port: Int

    init(keyID: String, secret: String, token: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/oss_server.py").path
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, keyID, secret, token]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(0x0a) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// What was stored under /bucket/object.
    func stored(_ path: String) async throws -> String {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/_stored\(path)"))
        return try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: url) { data, _, error in
                if let error { continuation.resume(throwing: error) } else {
                    continuation.resume(returning: String(decoding: data ?? Data(), as: UTF8.self))
                }
            }.resume()
        }
    }

    deinit { try? input.fileHandleForWriting.close() }
}

@Suite(.serialized) struct ObjectStorageTests {
    static let examplesFile = examples + "/functions.json"

    func runtime(endpointPort: Int, secret: String? = nil) throws -> FunctionRuntime {
        var configuration = try FunctionConfiguration.load(Self.examplesFile)
        for name in ["oss-put", "oss-put-swift"] {
            configuration.functions[name]?.environment["OSS_ENDPOINT"] = "http://127.0.0.1:\(endpointPort)"
        }
        if let secret, case .fixed(var credentials) = configuration.credentials {
            credentials.accessKeySecret = secret
            configuration.credentials = .fixed(credentials)
        }
        let registry = HandlerRegistry()
        Examples.register(in: registry)
        return try FunctionRuntime(configuration: configuration, registry: registry)
    }

    @Test(arguments: ["oss-put", "oss-put-swift"])
    func putObjectWithSTSCredentials(_ function: String) async throws {
        try #require(FileManager.default.fileExists(atPath: examples + "/oss-put/python/oss2"), "scripts/install-deps.sh installs oss2")
        let server = try OSSServer(keyID: "LTAI5tExampleKeyId", secret: "example-access-key-secret", token: "example-security-token")
        let invocation = try await runtime(endpointPort: server.port).invoke(function, event: Array("payload of \(function)".utf8))
        #expect(try invocation.result.get() == Array("success".utf8), "\(invocation.result) \(invocation.log.text)")
        #expect(try await server.stored("/my-bucket/my-object") == "payload of \(function)")
    }

    @Test(arguments: ["oss-put", "oss-put-swift"])
    func aWrongSecretIsRefusedByTheEndpoint(_ function: String) async throws {
        try #require(FileManager.default.fileExists(atPath: examples + "/oss-put/python/oss2"))
        let server = try OSSServer(keyID: "LTAI5tExampleKeyId", secret: "example-access-key-secret", token: "example-security-token")
        let invocation = try await runtime(endpointPort: server.port, secret: "not-the-secret").invoke(function, event: [])
        guard case .failure(let error) = invocation.result else { Issue.record("expected a refusal"); return }
        #expect(["SignatureDoesNotMatch", "OssError"].contains(error.errorType), "\(error)")
        #expect(try await server.stored("/my-bucket/my-object") == "")
    }
}
