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

    /// The seed's three handlers (and the executable one) from a private folder (0700, as
    /// `mktemp -d` makes it): no folder above the code needs to admit the command's uid.
    @Test func theSeedHandlersRunFromAPrivateFolder() async throws {
        try #require(FileManager.default.fileExists(atPath: examples + "/oss-put/python/oss2"), "scripts/install-deps.sh installs oss2")
        var template = Array("/tmp/fc-seed-XXXXXX".utf8CString)
        let folder = try #require(mkdtemp(&template).map { String(cString: $0) })
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for name in ["functions.json", "json-key", "ls", "oss-put", "upper"] {
            try FileManager.default.copyItem(atPath: examples + "/" + name, toPath: folder + "/" + name)
        }
        var configuration = try FunctionConfiguration.load(folder + "/functions.json")
        let server = try OSSServer(keyID: "LTAI5tExampleKeyId", secret: "example-access-key-secret", token: "example-security-token")
        configuration.functions["oss-put"]?.environment["OSS_ENDPOINT"] = "http://127.0.0.1:\(server.port)"
        let registry = HandlerRegistry()
        Examples.register(in: registry)
        let runtime = try FunctionRuntime(configuration: configuration, registry: registry)
        let key = await runtime.invoke("json-key", event: Array(#"{"key": "v"}"#.utf8))
        #expect(try key.result.get() == Array("v".utf8), "\(key.result)")
        let listing = try await runtime.invoke("ls", event: []).result.get()
        #expect(String(decoding: listing, as: UTF8.self).contains("index.py"))
        let upper = try await runtime.invoke("upper", event: Array("abc".utf8)).result.get()
        #expect(upper == Array("ABC".utf8))
        let put = await runtime.invoke("oss-put", event: Array("from a private folder".utf8))
        #expect(try put.result.get() == Array("success".utf8), "\(put.result) \(put.log)")
        #expect(try await server.stored("/my-bucket/my-object") == "from a private folder")
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
