import ConfineExamples
import ConfinePolicy
import ConfineRuntime
import ConfineService
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The service's boundary, by attack over HTTP: a caller's cwd never widens the view, a command
/// never starts in the service's directory nor sees its configuration or audit store, a grant
/// only ever narrows (isolation included), and secrets in a readable file are refused.
@Suite("confine serve: boundary")
struct BoundaryServiceTests {
    /// A service whose configuration file (0600, with a secret) lives in `directory`, with extra
    /// policies from `policies`.
    func makeService(in directory: String, policies: [String: String] = [:]) async throws -> ConfineService {
        let policyDirectory = directory + "/policies"
        try FileManager.default.createDirectory(atPath: policyDirectory, withIntermediateDirectories: true)
        for (name, text) in policies { try text.write(toFile: "\(policyDirectory)/\(name).json", atomically: true, encoding: .utf8) }
        let file = directory + "/service.json"
        try "{\"keys\": {\"test-key\": {\"secret\": \"\(testKey.secret)\"}}}".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        let functions = try FunctionConfiguration.load(examplesFunctions)
        let configuration = ServiceConfiguration(file: file, functions: functions, keys: [testKey, strictKey, defaultOnly],
                                                 store: .sqlite(path: directory + "/audit.sqlite"), policyPaths: [policyDirectory])
        let registry = HandlerRegistry()
        Examples.register(in: registry)
        return try await ConfineService(configuration: configuration, registry: registry)
    }

    let defaultOnly = ServiceConfiguration.Key(id: "default-key", secret: "default-secret-0123456789", functions: [], policies: ["default"])

    /// A 0755 folder a leased uid can enter.
    func directory() throws -> String {
        let path = "/var/tmp/boundary-service-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return path
    }

    func stdout(_ response: TestResponse) -> String {
        Data(base64Encoded: object(response.body)["stdout"] as? String ?? "").map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    @Test func aCallersCwdCannotWidenTheView() async throws {
        let home = try directory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let service = try await makeService(in: home)
        try await service.buildApplication(port: 0).test(.router) { client in
            for (cwd, key) in [("/", strictKey), ("/etc", strictKey), ("/home", testKey), ("/proc/self/cwd", testKey), ("/usr/../", testKey)] {
                let response = try await client.exec(["argv": ["ls", "-a", "/home"], "cwd": cwd], key: key)
                #expect(response.status == .forbidden, "\(cwd)")
                let body = object(response.body)
                #expect(body["Code"] as? String == "WorkingDirectoryNotAdmitted", "\(cwd): \(body)")
                // /proc/self/cwd is the server's own directory, whose files the service keeps hidden.
                let message = body["Message"] as? String ?? ""
                #expect(message.contains("not admitted") || message.contains("keeps hidden"), "\(message)")
            }
            // A cwd that does not exist is no widening: the command's outcome, a record with status "error".
            let missing = try await client.exec(["argv": ["true"], "cwd": "/no/such/folder"])
            #expect(missing.status == .ok && object(missing.body)["status"] as? String == "error")
        }
        let records = try await service.store.records()
        #expect(records.filter { $0.httpStatus == 403 }.count == 5, "each refusal is in the audit log")
    }

    @Test func withoutCwdACommandRunsInAFreshPrivateFolder() async throws {
        let home = try directory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let service = try await makeService(in: home)
        let serverDirectory = FileManager.default.currentDirectoryPath
        try await service.buildApplication(port: 0).test(.router) { client in
            let first = try await client.exec(["argv": ["sh", "-c", "pwd; ls -A; echo x > planted; cat Package.swift service.json 2>&1; true"]])
            #expect(first.status == .ok)
            let text = stdout(first)
            let folder = String(text.prefix { $0 != "\n" })
            #expect(folder != serverDirectory && !folder.isEmpty, "not the server's directory: \(text)")
            #expect(!text.contains("swift-tools-version") && !text.contains("secret"), "\(text)")
            #expect(text.contains("No such file"), "\(text)")
            let second = try await client.exec(["argv": ["sh", "-c", "ls -A"]])
            #expect(!stdout(second).contains("planted"), "the folder is emptied between requests")
            // The server's own directory is neither the default nor reachable by name.
            let named = try await client.exec(["argv": ["cat", serverDirectory + "/Package.swift"]])
            #expect(!stdout(named).contains("swift-tools-version"))
            // A relative program cannot come from the server's directory either.
            #expect(object(try await client.exec(["argv": ["./scripts/test.sh"]]).body)["status"] as? String == "error")
        }
    }

    @Test func theServiceConfigurationAndAuditStoreStayHidden() async throws {
        let home = try directory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let service = try await makeService(in: home)
        try await service.buildApplication(port: 0).test(.router) { client in
            for policy in ["default", "strict"] {
                // From the folder that holds them: refused before anything runs.
                let response = try await client.exec(["argv": ["cat", "service.json"], "cwd": home, "policy": policy])
                #expect(response.status == .forbidden, "\(policy)")
                #expect((object(response.body)["Message"] as? String)?.contains("keeps hidden") == true)
                // By absolute path from a private folder: outside the view, and 0600 against a leased uid.
                for file in ["service.json", "audit.sqlite"] {
                    let direct = try await client.exec(["argv": ["cat", home + "/" + file], "policy": policy])
                    #expect(direct.status == .ok)
                    #expect(object(direct.body)["exitCode"] as? Int != 0, "\(policy) \(file)")
                    #expect(!stdout(direct).contains("secret") && !stdout(direct).contains("SQLite"), "nothing of it was shown")
                }
            }
        }
        var info = stat()
        #expect(stat(home + "/audit.sqlite", &info) == 0 && info.st_mode & 0o077 == 0, "the audit store is private")
    }

    @Test func swiftHandlersRunCommandsInAPrivateFolder() async throws {
        let home = try directory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let service = try await makeService(in: home)
        try await service.buildApplication(port: 0).test(.router) { client in
            let response = try await client.send(.post, "/2023-03-30/functions/ls-swift/invocations", body: [], contentType: "application/octet-stream")
            #expect(response.status == .ok)
            let listing = String(buffer: response.body)
            #expect(listing.hasPrefix("total"), "\(listing)")
            #expect(!listing.contains("Package.swift") && !listing.contains("Sources"), "not the server's directory: \(listing)")
        }
    }

    /// Policies that include default and each give up one part of its isolation.
    static let laxer: [String: String] = [
        "no-view": #"{"isolation": {"filesystem": null}}"#,
        "host-network": #"{"isolation": {"network": "host"}}"#,
        "host-pids": #"{"isolation": {"processes": {"namespace": false}}}"#,
        "more-pids": #"{"isolation": {"processes": {"max": 100000}}}"#,
        "host-ipc": #"{"isolation": {"ipc": "host"}}"#,
        "more-memory": #"{"isolation": {"memory": "64GiB"}}"#,
        "more-cpu": #"{"isolation": {"cpu": 2}}"#,
        "home-visible": #"{"isolation": {"filesystem": {"readOnly": ["/usr", "/bin", "/lib", "/lib64", "/home"], "workingDirectory": "readWrite"}}}"#,
        "any-cwd": #"{"isolation": {"filesystem": {"readOnly": ["/usr", "/bin", "/lib", "/lib64"], "workingDirectory": "readWrite", "workingDirectories": ["/"]}}}"#,
        "cwd-writable": #"{"include": "strict", "isolation": {"filesystem": {"readOnly": ["/usr", "/bin", "/lib", "/lib64"], "workingDirectory": "readWrite"}}}"#,
        "no-tmp-cap": #"{"isolation": {"required": true}}"#,
    ]

    @Test func aGrantOfDefaultRefusesEveryPolicyThatDropsAnIsolationPart() async throws {
        let home = try directory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        var policies: [String: String] = [:]
        for (name, text) in Self.laxer {
            // "include" default unless the fixture names its own base.
            var object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
            if object["include"] == nil { object["include"] = "default" }
            object["version"] = 1
            policies[name] = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        policies["narrower"] = #"{"version": 1, "include": "default", "isolation": {"memory": "256MiB", "cpu": 0.5}}"#
        let service = try await makeService(in: home, policies: policies)
        try await service.buildApplication(port: 0).test(.router) { client in
            for name in Self.laxer.keys.sorted() where name != "no-tmp-cap" && name != "cwd-writable" {
                let response = try await client.exec(["argv": ["true"], "policy": name], key: defaultOnly)
                #expect(response.status == .forbidden, "\(name) drops an isolation part: \(String(buffer: response.body))")
                #expect(object(response.body)["Code"] as? String == "PolicyNotGranted", "\(name)")
            }
            // Writable where strict has it read-only: laxer than strict (not than default).
            let writable = try await client.exec(["argv": ["true"], "policy": "cwd-writable"], key: strictKey)
            #expect(writable.status == .forbidden)
            // Requiring every part is narrower, and so is a smaller cap.
            for name in ["no-tmp-cap", "narrower"] {
                let response = try await client.exec(["argv": ["true"], "policy": name], key: defaultOnly)
                #expect(response.status == .ok, "\(name): \(String(buffer: response.body))")
            }
        }
    }

    @Test func aConfigurationWithSecretsOthersCanReadIsRefused() throws {
        let home = try directory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let file = home + "/service.json"
        try #"{"version": 1, "keys": {"k": {"secret": "a-secret-of-some-length"}}}"#.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        do {
            _ = try ServiceConfiguration.load(file)
            Issue.record("a world-readable file with secrets was accepted")
        } catch let error as PolicyError {
            #expect(error.description.contains("chmod 600 \(file)"), "\(error)")
            #expect(error.description.contains("keys.k.secret"))
        }
        chmod(file, 0o600)
        #expect(throws: Never.self) { _ = try ServiceConfiguration.load(file) }
        // Secrets from the environment are not in the file: no constraint.
        try #"{"version": 1, "keys": {"k": {"secretEnv": "PATH"}}}"#.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        #expect(throws: Never.self) { _ = try ServiceConfiguration.load(file) }
    }
}
