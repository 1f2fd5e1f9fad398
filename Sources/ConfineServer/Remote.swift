import ArgumentParser
import ConfineCommandLine
import ConfineService
import Foundation
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

extension ServerCommand {
    /// `confine remote exec|invoke`: a client of a `confine serve` node that signs its requests
    /// (ACS3-HMAC-SHA256) with a key from the environment, as Function Compute's tools read theirs.
    struct Remote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remote",
            abstract: "Run a command or invoke a function on a confine serve node, signed with a key from the environment.",
            discussion: """
                The key: CONFINE_ACCESS_KEY_ID and CONFINE_ACCESS_KEY_SECRET, else \
                ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET. The endpoint: --endpoint, \
                else CONFINE_ENDPOINT (http://HOST:PORT).
                """,
            subcommands: [Exec.self, InvokeFunction.self, AsyncTaskState.self]
        )

        /// Where to send and with which key.
        struct Connection: ParsableArguments {
            @Option(help: "The node: http://HOST:PORT (default: $CONFINE_ENDPOINT).") var endpoint: String?

            func resolved() -> (url: URL, host: String, keyID: String, secret: String) {
                let environment = ProcessInfo.processInfo.environment
                guard let text = endpoint ?? environment["CONFINE_ENDPOINT"] else {
                    fail("no endpoint: give --endpoint http://HOST:PORT or set CONFINE_ENDPOINT", status: 2)
                }
                guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", let host = url.host, !host.isEmpty else {
                    fail("--endpoint '\(text)' is not an http:// or https:// URL with a host (accepted: http://HOST:PORT)", status: 2)
                }
                let id = environment["CONFINE_ACCESS_KEY_ID"] ?? environment["ALIBABA_CLOUD_ACCESS_KEY_ID"]
                let secret = environment["CONFINE_ACCESS_KEY_SECRET"] ?? environment["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
                guard let id, !id.isEmpty, let secret, !secret.isEmpty else {
                    fail("no key: set CONFINE_ACCESS_KEY_ID and CONFINE_ACCESS_KEY_SECRET (or ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET) to a key of the node's service.json", status: 2)
                }
                return (url, url.port.map { "\(host):\($0)" } ?? host, id, secret)
            }

            /// Sends one signed POST; ends the program with a clear line when the node cannot be reached.
            func post(_ path: String, body: [UInt8], headers extra: [String: String] = [:]) async -> (status: Int, headers: [String: String], body: Data) {
                await send("POST", path, body: body, headers: extra)
            }

            /// Sends one signed request; ends the program with a clear line when the node cannot be reached.
            func send(_ method: String, _ path: String, body: [UInt8], headers extra: [String: String] = [:]) async -> (status: Int, headers: [String: String], body: Data) {
                let (base, host, keyID, secret) = resolved()
                let target = base.absoluteString.hasSuffix("/") ? String(base.absoluteString.dropLast()) + path : base.absoluteString + path
                guard let url = URL(string: target) else { fail("cannot form a URL from \(base) and \(path)", status: 2) }
                // signed as sent: the whole path, an endpoint's own prefix included
                let signedPath = url.path.isEmpty ? path : url.path
                // AsyncHTTPClient: Foundation's URLSession on Linux spins while it waits (3.4 s of
                // system time measured waiting 4 s for a command)
                var request = HTTPClientRequest(url: url.absoluteString)
                request.method = HTTPMethod(rawValue: method)
                var headers = ["host": host, "content-type": extra["content-type"] ?? "application/json"]
                headers.merge(extra) { $1 }
                for (name, value) in ACS3Signature.sign(method: method, path: signedPath, headers: headers, body: body, keyID: keyID, secret: secret) {
                    request.headers.replaceOrAdd(name: name, value: value)
                }
                if method != "GET" { request.body = .bytes(ByteBuffer(bytes: body)) }
                do {
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(360))
                    var fields: [String: String] = [:]
                    for header in response.headers { fields[header.name.lowercased()] = header.value }
                    let collected = try await response.body.collect(upTo: 256 << 20)
                    return (Int(response.status.code), fields, Data(collected.readableBytesView))
                } catch {
                    fail("cannot reach \(base.absoluteString): \(connectionReason(error))", status: 2)
                }
            }
        }

        /// Ends with the service's own error (its `Code: Message`), exit status 1.
        static func refuse(_ status: Int, _ body: Data) -> Never {
            let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
            let code = object?["Code"] as? String ?? object?["code"] as? String ?? ""
            let message = object?["Message"] as? String ?? object?["message"] as? String ?? String(decoding: body.prefix(300), as: UTF8.self)
            fail("the node answered \(status)\(code.isEmpty ? "" : " \(code)"): \(message)", status: 1)
        }

        struct Exec: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "exec",
                abstract: "Run a command on the node (POST /v1/exec), its output and exit status as `confine run` gives them.",
                usage: "confine remote exec [--endpoint URL] [--policy P] [--timeout S] [--cwd DIR] [--env K=V]... [--input FILE|-] [--json] -- CMD [ARG...]"
            )
            @OptionGroup var connection: Connection
            @Option(help: "A policy the key holds (default: the key's first).") var policy: String?
            @Option(help: "Seconds (the node caps it).") var timeout: Double?
            @Option(help: "The working directory on the node (default: a fresh private folder).") var cwd: String?
            @Option(name: .customLong("env"), help: "K=V added to the policy's environment. Repeatable.") var environment: [String] = []
            @Option(help: "Standard input: a file, or - for this process's stdin (default: none).") var input: String?
            @Flag(help: "Print the node's JSON record instead.") var json = false
            @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, after --.") var command: [String] = []

            func run() async throws {
                let argv = passthroughCommand(command, of: Self.self, named: "remote exec")
                guard !argv.isEmpty else { fail("no command given (usage: confine remote exec [OPTIONS] -- CMD [ARG...])", status: 2) }
                var body: [String: Any] = ["argv": argv]
                if let policy { body["policy"] = policy }
                if let timeout { body["timeout"] = timeout }
                if let cwd { body["cwd"] = cwd }
                var variables: [String: String] = [:]
                for entry in environment {
                    guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else { fail("--env '\(entry)' is not K=V", status: 2) }
                    variables[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
                }
                if !variables.isEmpty { body["env"] = variables }
                if let input {
                    let data = input == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: input)
                    guard let data else { fail("--input \(input): cannot be read", status: 2) }
                    body["stdin"] = data.base64EncodedString()
                }
                let payload = try JSONSerialization.data(withJSONObject: body)
                let (status, _, answer) = await connection.post("/v1/exec", body: [UInt8](payload))
                guard status == 200 else { Remote.refuse(status, answer) }
                if json {
                    FileHandle.standardOutput.write(answer)
                    FileHandle.standardOutput.write(Data("\n".utf8))
                    return
                }
                guard let record = (try? JSONSerialization.jsonObject(with: answer)) as? [String: Any] else {
                    fail("the node's answer is not a JSON record: \(String(decoding: answer.prefix(200), as: UTF8.self))", status: 1)
                }
                if let out = (record["stdout"] as? String).flatMap({ Data(base64Encoded: $0) }) { FileHandle.standardOutput.write(out) }
                if let err = (record["stderr"] as? String).flatMap({ Data(base64Encoded: $0) }) { FileHandle.standardError.write(err) }
                // the exit status `confine run` gives the same outcome
                let code: Int32
                switch record["status"] as? String {
                case "ok": code = 0
                case "nonzero": code = Int32(record["exitCode"] as? Int ?? 1)
                case "timeout": code = 124
                case "signal", "memory-limit", "killed", "output-limit":
                    code = (record["signal"] as? Int).map { 128 + Int32($0) } ?? Int32(record["exitCode"] as? Int ?? 1)
                default:
                    // refused or error: the command did not run
                    let error = record["error"] as? [String: Any]
                    fail(error?["message"] as? String ?? "the command did not run (status \(record["status"] as? String ?? "?"))",
                         status: (error?["code"] as? String ?? "").lowercased().contains("notfound") ? 127 : 126)
                }
                throw ExitCode(code)
            }
        }

        struct InvokeFunction: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "invoke",
                abstract: "Invoke a function on the node (Function Compute's InvokeFunction): its result on stdout; a handler error as FC's JSON, exit 1.")
            @OptionGroup var connection: Connection
            @Argument(help: "The function's name.") var function: String
            @Option(help: "The event: text, @FILE to read a file, or - for stdin (default: empty).") var event: String?
            @Flag(help: "Print the last 4 KiB of the function's log on stderr (x-fc-log-type: Tail).") var log = false
            @Flag(name: .customLong("async"), help: "Invoke asynchronously (x-fc-invocation-type: Async): print the task's id once the node has stored it; read it with `confine remote task`.")
            var asynchronous = false
            @Option(name: .customLong("task-id"), help: "The asynchronous task's id (default: the request's id).") var taskID: String?

            func run() async throws {
                var body = Data()
                if let event {
                    if event == "-" {
                        body = FileHandle.standardInput.readDataToEndOfFile()
                    } else if event.hasPrefix("@") {
                        guard let data = FileManager.default.contents(atPath: String(event.dropFirst())) else { fail("--event \(event): cannot be read", status: 2) }
                        body = data
                    } else {
                        body = Data(event.utf8)
                    }
                }
                let name = function.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? function
                var headers = ["content-type": "application/octet-stream"]
                if log { headers["x-fc-log-type"] = "Tail" }
                if asynchronous { headers["x-fc-invocation-type"] = "Async" }
                if let taskID {
                    guard asynchronous else { fail("--task-id names an asynchronous task: give --async too", status: 2) }
                    headers["x-fc-async-task-id"] = taskID
                }
                let (status, fields, answer) = await connection.post("/2023-03-30/functions/\(name)/invocations", body: [UInt8](body), headers: headers)
                guard status == 200 || status == 202 else { Remote.refuse(status, answer) }
                if status == 202 {
                    print(fields["x-fc-async-task-id"] ?? "")
                    return
                }
                if log, let tail = fields["x-fc-log-result"].flatMap({ Data(base64Encoded: $0) }) { FileHandle.standardError.write(tail) }
                FileHandle.standardOutput.write(answer)
                if fields["x-fc-error-type"] != nil {
                    FileHandle.standardOutput.write(Data("\n".utf8))
                    throw ExitCode(1)
                }
            }
        }
    
        struct AsyncTaskState: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "task",
                abstract: "An asynchronous invocation's state (GET .../async-tasks/ID); with --wait, its result once it ends.")
            @OptionGroup var connection: Connection
            @Argument(help: "The function's name.") var function: String
            @Argument(help: "The task's id, as `confine remote invoke --async` printed it.") var id: String
            @Flag(help: "Wait until the task ends; then print its result (exit 0) or its error (exit 1).") var wait = false
            @Option(help: "With --wait: give up after this many seconds (exit 124).") var timeout: Double = 300

            func run() async throws {
                let name = function.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? function
                let ident = id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id
                let deadline = Date().addingTimeInterval(timeout)
                while true {
                    let (status, _, answer) = await connection.send("GET", "/2023-03-30/functions/\(name)/async-tasks/\(ident)", body: [])
                    guard status == 200 else { Remote.refuse(status, answer) }
                    let state = (try? JSONSerialization.jsonObject(with: answer)) as? [String: Any] ?? [:]
                    let phase = state["status"] as? String ?? ""
                    guard wait else {
                        FileHandle.standardOutput.write(answer + Data("\n".utf8))
                        return
                    }
                    if phase == "Succeeded" {
                        FileHandle.standardOutput.write(Data((state["returnPayload"] as? String ?? "").utf8))
                        return
                    }
                    if phase == "Failed" {
                        FileHandle.standardOutput.write(Data((state["taskErrorMessage"] as? String ?? "").utf8) + Data("\n".utf8))
                        throw ExitCode(1)
                    }
                    guard Date() < deadline else { fail("task \(id) is still \(phase) after \(Int(timeout)) s", status: 124) }
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
        }
    }
}
