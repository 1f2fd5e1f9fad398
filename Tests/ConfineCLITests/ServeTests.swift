import ConfineService
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `confine serve` as a process: the official Function Compute SDK against it, graceful
/// shutdown with work in flight, `confine log`.
@Suite("confine serve (process)", .serialized)
struct ServeProcessTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let secret = "serve-test-secret-0123456789"

    /// A running server with its scratch directory and port.
    final class Server: @unchecked Sendable {
        let process = Process()
        let directory: String
        let port: Int
        let log: String
        let exited = DispatchSemaphore(value: 0)

        init(grace: String = "1s") throws {
            directory = NSTemporaryDirectory() + "confine-serve-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            port = Self.freePort()
            let config: [String: Any] = [
                "version": 1,
                "functions": ServeProcessTests.repository.appendingPathComponent("examples/functions.json").path,
                "auditLog": "\(directory)/audit.sqlite",
                "keys": ["serve-key": ["secret": ServeProcessTests.secret, "functions": ["*"], "policies": ["default", "strict"]]],
                "limits": ["grace": grace],
            ]
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(directory)/service.json"))
            chmod("\(directory)/service.json", 0o600)  // it holds a secret: serve refuses it readable by others
            log = "\(directory)/serve.log"
            FileManager.default.createFile(atPath: log, contents: nil)
            process.executableURL = URL(fileURLWithPath: CLITests.binary)
            process.arguments = ["serve", "--config", "\(directory)/service.json", "--port", String(port)]
            process.standardOutput = FileHandle(forWritingAtPath: log)
            process.standardError = FileHandle(forWritingAtPath: log)
            process.terminationHandler = { [exited] _ in exited.signal() }
            try process.run()
        }

        static func freePort() -> Int {
            let (fd, port) = Loopback.bound()
            if fd >= 0 { close(fd) }
            return port
        }

        func waitUntilHealthy() async throws {
            for _ in 0..<200 {
                if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!),
                   (response as? HTTPURLResponse)?.statusCode == 200 { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("the server did not become healthy: \(String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self))")
        }

        /// A signed request over HTTP.
        func send(_ path: String, body: [UInt8], headers extra: [String: String] = [:]) async throws -> (Int, [String: String], Data) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = "POST"
            request.httpBody = Data(body)
            request.timeoutInterval = 60
            var headers = ["host": "127.0.0.1:\(port)", "content-type": "application/json"]
            headers.merge(extra) { $1 }
            for (name, value) in ACS3Signature.sign(method: "POST", path: path, headers: headers, body: body, keyID: "serve-key", secret: ServeProcessTests.secret)
            where name != "host" {
                request.setValue(value, forHTTPHeaderField: name)
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = response as? HTTPURLResponse
            var fields: [String: String] = [:]
            for (k, v) in http?.allHeaderFields ?? [:] { fields["\(k)".lowercased()] = "\(v)" }
            return (http?.statusCode ?? 0, fields, data)
        }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            _ = exited.wait(timeout: .now() + 10)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Runs the official FC 3.0 Python SDK (Tests/Fixtures/fc_client.py) against the server.
    func officialClient(_ server: Server, _ arguments: [String]) async throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.repository.appendingPathComponent("Tests/Fixtures/fc_client.py").path,
                             "--endpoint", "127.0.0.1:\(server.port)"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = Self.repository.appendingPathComponent(".build-python").path
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        let done = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in done.continuation.finish() }
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        for await _ in done.stream {}
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? ["unparsed": String(decoding: data, as: UTF8.self)]
    }

    @Test func theOfficialFunctionComputeSDKWorksUnchanged() async throws {
        let server = try Server()
        defer { server.stop() }
        try await server.waitUntilHealthy()
        let event = NSTemporaryDirectory() + "event-\(UUID().uuidString).json"
        try Data(#"{"key": "from the SDK"}"#.utf8).write(to: URL(fileURLWithPath: event))
        defer { try? FileManager.default.removeItem(atPath: event) }

        let sync = try await officialClient(server, ["--key-id", "serve-key", "--secret", Self.secret, "--token", "sts-token",
                                                     "--function", "json-key", "--tail", "--qualifier", "prod v1", "--body-file", event])
        #expect(sync["status"] as? Int == 200, "\(sync)")
        #expect(Data(base64Encoded: sync["body_base64"] as? String ?? "") == Data("from the SDK".utf8))
        let headers = sync["headers"] as? [String: String] ?? [:]
        #expect(headers["x-fc-request-id"] != nil && headers["x-fc-log-result"] != nil)

        let async = try await officialClient(server, ["--key-id", "serve-key", "--secret", Self.secret, "--function", "json-key",
                                                      "--async", "--task-id", "sdk-task", "--body-file", event])
        #expect(async["status"] as? Int == 202, "\(async)")

        let wrong = try await officialClient(server, ["--key-id", "serve-key", "--secret", "a-wrong-secret-0000000", "--function", "json-key",
                                                      "--body-file", event])
        let error = wrong["error"] as? [String: Any] ?? [:]
        #expect(error["status"] as? Int == 403 && error["code"] as? String == "SignatureNotMatch", "\(wrong)")

        let missing = try await officialClient(server, ["--key-id", "serve-key", "--secret", Self.secret, "--function", "no-such-function",
                                                        "--body-file", event])
        #expect((missing["error"] as? [String: Any])?["code"] as? String == "FunctionNotFound", "\(missing)")
    }

    /// `confine remote exec|invoke`: the CLI signs with a key from the environment; the output
    /// and exit status are `confine run`'s, a refusal is the node's Code and Message.
    @Test func theRemoteClientSignsWithTheKeyFromTheEnvironment() async throws {
        let server = try Server()
        defer { server.stop() }
        try await server.waitUntilHealthy()
        let cli = CLITests()
        let key = ["CONFINE_ACCESS_KEY_ID": "serve-key", "CONFINE_ACCESS_KEY_SECRET": Self.secret, "CONFINE_ENDPOINT": "http://127.0.0.1:\(server.port)"]
        let exec = try cli.execute(CLITests.binary, ["remote", "exec", "--", "sh", "-c", "echo out; echo err >&2; exit 3"], environment: key)
        #expect(exec.status == 3 && exec.text == "out\n" && exec.stderr == "err\n", "\(exec.stderr)")
        let invoke = try cli.execute(CLITests.binary, ["remote", "invoke", "json-key", "--event", #"{"key": "remote"}"#], environment: key)
        #expect(invoke.status == 0 && invoke.text == "remote", "\(invoke.stderr)")
        let failing = try cli.execute(CLITests.binary, ["remote", "invoke", "json-key", "--event", "not json"], environment: key)
        #expect(failing.status == 1 && failing.text.contains("JSONDecodeError"), "\(failing.text)")
        var wrong = key
        wrong["CONFINE_ACCESS_KEY_SECRET"] = "not-the-secret"
        let refused = try cli.execute(CLITests.binary, ["remote", "exec", "--", "true"], environment: wrong)
        #expect(refused.status == 1 && refused.stderr.contains("403 SignatureNotMatch"), "\(refused.stderr)")
        let keyless = try cli.execute(CLITests.binary, ["remote", "exec", "--", "true"], environment: ["CONFINE_ACCESS_KEY_ID": "", "ALIBABA_CLOUD_ACCESS_KEY_ID": "", "CONFINE_ENDPOINT": key["CONFINE_ENDPOINT"] ?? ""])
        #expect(keyless.status == 2 && keyless.stderr.contains("no key"), "\(keyless.stderr)")
    }

    @Test func sigtermLetsWorkFinishThenKillsWhatRemainsAndRecordsIt() async throws {
        let server = try Server(grace: "1s")
        defer { server.stop() }
        try await server.waitUntilHealthy()
        let marker = "serve-grace-\(UUID().uuidString.prefix(8))"
        let body = try JSONSerialization.data(withJSONObject: ["argv": ["sh", "-c", "sleep 60; echo \(marker)"], "timeout": 120])
        let quick = try JSONSerialization.data(withJSONObject: ["argv": ["sh", "-c", "sleep 0.3; echo quick"]])
        async let long = server.send("/v1/exec", body: [UInt8](body))
        async let short = server.send("/v1/exec", body: [UInt8](quick))
        var started = false
        for _ in 0..<200 where !started {
            started = ServeProcessTests.running(marker)
            if !started { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(started)
        kill(server.process.processIdentifier, SIGTERM)
        let (longStatus, _, longBody) = try await long
        let (shortStatus, _, shortBody) = try await short
        // The short one finished inside the grace period; the long one was killed at its end.
        #expect(shortStatus == 200)
        #expect((try? JSONSerialization.jsonObject(with: shortBody) as? [String: Any])?["status"] as? String == "ok")
        #expect(longStatus == 200)
        let record = (try? JSONSerialization.jsonObject(with: longBody)) as? [String: Any] ?? [:]
        #expect(record["status"] as? String == "killed", "\(record)")
        #expect(server.exited.wait(timeout: .now() + 15) == .success)
        #expect(server.process.terminationStatus == 0)
        #expect(!ServeProcessTests.running(marker))

        // The audit log has both, readable with `confine log`.
        let log = Process()
        log.executableURL = URL(fileURLWithPath: CLITests.binary)
        log.arguments = ["log", "--database", "\(server.directory)/audit.sqlite", "--json"]
        let pipe = Pipe()
        log.standardOutput = pipe
        try log.run()
        let lines = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        log.waitUntilExit()
        let records = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(records.contains { $0["outcome"] as? String == "killed" && ($0["argv"] as? [String])?.last?.contains(marker) == true })
        #expect(records.contains { $0["outcome"] as? String == "ok" && $0["keyID"] as? String == "serve-key" })
    }

    static func running(_ marker: String) -> Bool {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for pid in entries where pid.allSatisfy(\.isNumber) {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            if String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(marker) { return true }
        }
        return false
    }
}
