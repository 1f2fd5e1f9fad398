import ConfineService
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite("confine serve: exec")
struct ExecRouteTests {
    @Test func execRunsConfinedAndRecordsIt() async throws {
        let service = try await makeService()
        let app = service.buildApplication(port: 0)
        try await app.test(.router) { client in
            // examples/ itself holds the functions file (static credentials), which no command may see.
            let examples = repository.appendingPathComponent("examples/ls").path
            let response = try await client.exec(["argv": ["ls", "-l"], "cwd": examples, "timeout": 10])
            #expect(response.status == .ok)
            let record = object(response.body)
            #expect(record["status"] as? String == "ok")
            #expect(record["exitCode"] as? Int == 0)
            #expect(record["policy"] as? String == "default")
            let stdout = Data(base64Encoded: record["stdout"] as? String ?? "").map { String(decoding: $0, as: UTF8.self) } ?? ""
            #expect(stdout.contains("index.py"))
            #expect(response.headers[HTTPField.Name("x-fc-request-id")!] != nil)
        }
        let records = try await service.store.records()
        let last = try #require(records.last)
        #expect(last.kind == "exec" && last.argv == ["ls", "-l"] && last.outcome == "ok" && last.exitStatus == 0)
        #expect(last.keyID == "test-key" && last.policy == "default" && last.httpStatus == 200 && last.bytesOut > 0)
    }

    @Test func argumentsInHexReachTheCommandByteForByte() async throws {
        let service = try await makeService()
        let app = service.buildApplication(port: 0)
        try await app.test(.router) { client in
            let name: [UInt8] = [0x66, 0xf0, 0x90, 0x80, 0xff]
            let response = try await client.exec(["argv": ["printf", "%s", ["hex": "66F09080ff"]], "timeout": 10])
            let record = object(response.body)
            #expect(response.status == .ok && record["status"] as? String == "ok", "\(record)")
            #expect(Data(base64Encoded: record["stdout"] as? String ?? "").map { [UInt8]($0) } == name)
            for bad: Any in [["hex": "6g"], ["hex": "616"], ["hex": "610062"], ["hex": "61", "more": 1], ["text": "x"], 7] {
                let refused = try await client.exec(["argv": ["printf", bad]])
                #expect(refused.status == .badRequest && String(buffer: refused.body).contains("argv[1]"), "\(bad)")
            }
            // env values too
            let env = try await client.exec(["argv": ["sh", "-c", "printf %s \"$X$Y\""], "env": ["X": ["hex": "636166e9"], "Y": "!"], "timeout": 10])
            let shown = object(env.body)
            #expect(Data(base64Encoded: shown["stdout"] as? String ?? "").map { [UInt8]($0) } == [0x63, 0x61, 0x66, 0xe9, 0x21], "\(shown)")
            for bad: Any in [["hex": "6100"], ["hex": "zz"], ["hex": "61", "more": 1], 7] {
                let refused = try await client.exec(["argv": ["true"], "env": ["X": bad]])
                #expect(refused.status == .badRequest && String(buffer: refused.body).contains("env.X"), "\(bad)")
            }
        }
    }

    @Test func outcomesAreResultsNotErrors() async throws {
        let service = try await makeService()
        try await service.buildApplication(port: 0).test(.router) { client in
            let failing = object(try await client.exec(["argv": ["sh", "-c", "echo out; echo err >&2; exit 3"]]).body)
            #expect(failing["status"] as? String == "nonzero" && failing["exitCode"] as? Int == 3)
            #expect(Data(base64Encoded: failing["stderr"] as? String ?? "") == Data("err\n".utf8))

            let started = ContinuousClock.now
            let slow = object(try await client.exec(["argv": ["sleep", "30"], "timeout": 0.5]).body)
            #expect(slow["status"] as? String == "timeout")
            #expect(started.duration(to: .now) < .seconds(10))

            let input = object(try await client.exec(["argv": ["cat"], "stdin": Data("hello".utf8).base64EncodedString()]).body)
            #expect(Data(base64Encoded: input["stdout"] as? String ?? "") == Data("hello".utf8))

            let missing = object(try await client.exec(["argv": ["no-such-command-xyz"]]).body)
            #expect(missing["status"] as? String == "error")
        }
    }

    @Test func refusedSyscallIsReportedAndRecorded() async throws {
        let service = try await makeService()
        try await service.buildApplication(port: 0).test(.router) { client in
            // strict refuses sockets: python's socket() gets EPERM and the record names the call.
            let response = try await client.exec(["argv": ["python3", "-c", "import socket\ntry:\n  socket.socket()\nexcept OSError as e: print(e.errno)"],
                                                  "policy": "default"])
            let record = object(response.body)
            #expect(record["status"] as? String == "ok")
            #expect((record["refusedSyscall"] as? String ?? "").hasPrefix("socket("))
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            let text = String(buffer: metrics.body)
            #expect(text.contains("confine_refused_syscalls_total{policy=\"default\",syscall=\"socket\"}"))
            #expect(text.contains("confine_invocations_total{route=\"exec\""))
            #expect(text.contains("confine_request_duration_seconds_bucket"))
        }
        #expect(try await service.store.records().last?.refusedSyscall?.hasPrefix("socket(") == true)
    }

    @Test func badInputGetsPreciseFourHundreds() async throws {
        let service = try await makeService(bodyLimit: 4096)
        try await service.buildApplication(port: 0).test(.router) { client in
            func expectError(_ body: [UInt8], contentType: String? = "application/json", status: HTTPResponse.Status, code: String,
                             mentions: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let response = try await client.send(.post, "/v1/exec", body: body, contentType: contentType)
                #expect(response.status == status, sourceLocation: sourceLocation)
                let error = object(response.body)
                #expect(error["Code"] as? String == code, sourceLocation: sourceLocation)
                #expect((error["Message"] as? String ?? "").contains(mentions), "\(error)", sourceLocation: sourceLocation)
                #expect(error["RequestId"] as? String != nil, sourceLocation: sourceLocation)
            }
            try await expectError(Array("{\"argv\": [".utf8), status: .badRequest, code: "InvalidJSON", mentions: "not valid JSON")
            try await expectError(json(["argv": []]), status: .badRequest, code: "InvalidArgument", mentions: "argv is empty")
            try await expectError(json(["argv": ["ls", "a\u{0}b"]]), status: .badRequest, code: "InvalidArgument", mentions: "argv[1] contains a NUL byte")
            try await expectError(json(["argv": "ls"]), status: .badRequest, code: "InvalidArgument", mentions: "argv must be an array")
            try await expectError(json(["argv": ["ls"], "timeout": -1]), status: .badRequest, code: "InvalidArgument", mentions: "timeout -1.0 is out of range")
            try await expectError(json(["argv": ["ls"], "timeout": 1e12]), status: .badRequest, code: "InvalidArgument", mentions: "at most 300.0 seconds")
            try await expectError(json(["argv": ["ls"], "shell": true]), status: .badRequest, code: "InvalidArgument", mentions: "unknown field 'shell'")
            try await expectError(json(["argv": ["ls"], "stdin": "***"]), status: .badRequest, code: "InvalidArgument", mentions: "base64")
            try await expectError(json(["argv": ["ls"], "cwd": "relative"]), status: .badRequest, code: "InvalidArgument", mentions: "absolute")
            try await expectError(json(["argv": ["ls"], "env": ["A=B": "x"]]), status: .badRequest, code: "InvalidArgument", mentions: "not a variable name")
            try await expectError(json(["argv": ["ls"], "policy": "nope"]), status: .badRequest, code: "PolicyNotFound", mentions: "available: ")
            try await expectError(json(["argv": ["ls"], "policy": "../etc/passwd"]), status: .badRequest, code: "InvalidArgument", mentions: "no paths")
            try await expectError(json(["argv": ["ls"]]), contentType: "text/plain", status: .unsupportedMediaType, code: "UnsupportedMediaType", mentions: "application/json")
            try await expectError([UInt8](repeating: 0x20, count: 10_000), status: .contentTooLarge, code: "EntityTooLarge", mentions: "limit")
            // The server still serves.
            #expect(object(try await client.exec(["argv": ["true"]]).body)["status"] as? String == "ok")
        }
        let outcomes = try await service.store.records().map(\.outcome)
        #expect(outcomes.filter { $0 == "bad-request" }.count == 12)
        #expect(outcomes.filter { $0 == "too-large" }.count == 1)
        #expect(outcomes.filter { $0 == "unsupported-media-type" }.count == 1)
    }

    @Test func aKeyNeverGetsALaxerPolicy() async throws {
        let service = try await makeService()
        try await service.buildApplication(port: 0).test(.router) { client in
            let laxer = try await client.exec(["argv": ["true"], "policy": "default"], key: strictKey)
            #expect(laxer.status == .forbidden)
            #expect(object(laxer.body)["Code"] as? String == "PolicyNotGranted")
            let network = try await client.exec(["argv": ["true"], "policy": "network"], key: strictKey)
            #expect(network.status == .forbidden)
            // Its own grant, and the default when none is named.
            #expect(object(try await client.exec(["argv": ["true"], "policy": "strict"], key: strictKey).body)["policy"] as? String == "strict")
            #expect(object(try await client.exec(["argv": ["true"]], key: strictKey).body)["policy"] as? String == "strict")
        }
    }

    @Test func streamSendsOutputAsItComesThenTheRecord() async throws {
        let service = try await makeService()
        try await service.buildApplication(port: 0).test(.router) { client in
            let body = json(["argv": ["sh", "-c", "echo one; sleep 0.2; echo two >&2; exit 4"]])
            let response = try await client.send(.post, "/v1/exec/stream", body: body)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/x-ndjson")
            let lines = String(buffer: response.body).split(separator: "\n").map { object(ByteBuffer(string: String($0))) }
            #expect(lines.count == 3)
            #expect(lines.first?["stream"] as? String == "stdout")
            #expect(Data(base64Encoded: lines.first?["data"] as? String ?? "") == Data("one\n".utf8))
            #expect(lines.dropFirst().first?["stream"] as? String == "stderr")
            let result = try #require(lines.last?["result"] as? [String: Any])
            #expect(result["status"] as? String == "nonzero" && result["exitCode"] as? Int == 4)
        }
        #expect(try await service.store.records().last?.kind == "exec-stream")
    }
}

@Suite("confine serve: signatures")
struct SignatureTests {
    func expectRefused(_ response: TestResponse, _ status: HTTPResponse.Status, _ code: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(object(response.body)["Code"] as? String == code, "\(object(response.body))", sourceLocation: sourceLocation)
    }

    @Test func aKnownRouteAskedWithAnotherMethodIs405WithItsMethods() async throws {
        let service = try await makeService()
        try await service.buildApplication(port: 0).test(.router) { client in
            for (method, path, allowed) in [(HTTPRequest.Method.get, "/v1/exec", "POST"), (.delete, "/v1/exec/stream", "POST"),
                                            (.post, "/healthz", "GET"), (.put, "/metrics", "GET"),
                                            (.get, "/2023-03-30/functions/hello/invocations", "POST"),
                                            (.post, "/2023-03-30/functions/hello/async-tasks/t1", "GET")] {
                let response = try await client.execute(uri: path, method: method)
                expectRefused(response, .methodNotAllowed, "MethodNotAllowed")
                #expect(response.headers[.allow] == allowed, "\(method) \(path)")
                #expect(response.headers[HTTPField.Name("x-fc-request-id")!] != nil)
            }
            // Not a route at all, or a route's path with a part missing: 404, no Allow.
            for path in ["/v2/exec", "/2023-03-30/functions//invocations", "/2023-03-30/functions/hello"] {
                let response = try await client.execute(uri: path, method: .get)
                expectRefused(response, .notFound, "NotFound")
                #expect(response.headers[.allow] == nil, "\(path)")
            }
        }
    }

    @Test func unsignedBadlySignedExpiredAndReplayedRequestsAreRefused() async throws {
        let service = try await makeService()
        try await service.buildApplication(port: 0).test(.router) { client in
            let body = json(["argv": ["true"]])
            expectRefused(try await client.execute(uri: "/v1/exec", method: .post, headers: [.contentType: "application/json"],
                                                   body: ByteBuffer(bytes: body)), .unauthorized, "MissingAuthorization")
            expectRefused(try await client.execute(uri: "/v1/exec", method: .post, headers: [.authorization: "Basic dXNlcjpwYXNz"],
                                                   body: ByteBuffer(bytes: body)), .unauthorized, "InvalidAuthorization")
            // Wrong secret.
            let wrong = signed(.post, "/v1/exec", body: body, secret: "not-the-secret-at-all")
            expectRefused(try await client.execute(uri: "/v1/exec", method: .post, headers: wrong, body: ByteBuffer(bytes: body)),
                          .forbidden, "SignatureNotMatch")
            // Unknown key.
            let unknown = ServiceConfiguration.Key(id: "nobody", secret: "whatever-secret-123", functions: [], policies: [], rateLimit: nil, burst: 1)
            expectRefused(try await client.send(.post, "/v1/exec", body: body, key: unknown), .forbidden, "InvalidAccessKeyID")
            // A body changed after signing.
            let headers = signed(.post, "/v1/exec", body: body)
            expectRefused(try await client.execute(uri: "/v1/exec", method: .post, headers: headers, body: ByteBuffer(bytes: json(["argv": ["id"]]))),
                          .forbidden, "ContentSHA256Mismatch")
            // A signed header changed after signing (the query is signed too).
            let queried = signed(.post, "/v1/exec?a=1", body: body)
            expectRefused(try await client.execute(uri: "/v1/exec?a=2", method: .post, headers: queried, body: ByteBuffer(bytes: body)),
                          .forbidden, "SignatureNotMatch")
            // Outside the clock-skew window.
            let old = signed(.post, "/v1/exec", body: body, date: Date().addingTimeInterval(-3600))
            expectRefused(try await client.execute(uri: "/v1/exec", method: .post, headers: old, body: ByteBuffer(bytes: body)),
                          .forbidden, "RequestTimeTooSkewed")
            // A replay of a good request.
            let good = signed(.post, "/v1/exec", body: body)
            let first = try await client.execute(uri: "/v1/exec", method: .post, headers: good, body: ByteBuffer(bytes: body))
            #expect(first.status == .ok)
            expectRefused(try await client.execute(uri: "/v1/exec", method: .post, headers: good, body: ByteBuffer(bytes: body)),
                          .forbidden, "SignatureNonceUsed")
        }
        let records = try await service.store.records()
        #expect(records.filter { $0.outcome == "unauthorized" }.count == 2)
        #expect(records.filter { $0.outcome == "forbidden" }.count == 6)
        // The log names the claimed key but never a secret.
        let text = records.map { "\($0)" }.joined()
        #expect(!text.contains(testKey.secret) && !text.contains("not-the-secret-at-all"))
        #expect(records.contains { $0.keyID == "nobody" && $0.message?.hasPrefix("InvalidAccessKeyID") == true })
    }

    @Test func aReplayIsRefusedAfterARestartToo() async throws {
        let database = scratchDirectory() + "/audit.sqlite"
        let body = json(["argv": ["true"]])
        let good = signed(.post, "/v1/exec", body: body)
        let first = try await makeService(database: database)
        try await first.buildApplication(port: 0).test(.router) { client in
            let response = try await client.execute(uri: "/v1/exec", method: .post, headers: good, body: ByteBuffer(bytes: body))
            #expect(response.status == .ok)
        }
        let second = try await makeService(database: database)
        try await second.buildApplication(port: 0).test(.router) { client in
            expectRefused(try await client.execute(uri: "/v1/exec", method: .post, headers: good, body: ByteBuffer(bytes: body)),
                          .forbidden, "SignatureNonceUsed")
        }
    }

    @Test func signatureMatchesAlibabaCloudsWorkedExample() {
        // A request the official Python SDK (alibabacloud_fc20230330 4.8.3) sent, with its signature:
        // the query goes out as `prod+v1` and is signed as `prod%20v1`; every header it sets is signed.
        let headers: [String: [String]] = [
            "accept": ["application/json"], "content-type": ["application/octet-stream"], "host": ["127.0.0.1:18931"],
            "user-agent": ["AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2"],
            "x-acs-accesskey-id": ["STS.testAKID"], "x-acs-action": ["InvokeFunction"],
            "x-acs-content-sha256": ["d95808527f6e74a7a4cc2d3dfc056424bea5dce3940f31f158d06ad5098fbdd8"],
            "x-acs-credentials-provider": ["static_sts"], "x-acs-date": ["2026-11-25T00:44:12Z"],
            "x-acs-security-token": ["CAIStoken123"], "x-acs-signature-nonce": ["22dbbec23fc6461d23c74be8e3000ee8"],
            "x-acs-version": ["2023-03-30"], "x-fc-invocation-type": ["Sync"], "x-fc-log-type": ["Tail"],
        ]
        let signedNames = "accept;content-type;host;user-agent;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version;x-fc-invocation-type;x-fc-log-type"
        let canonical = ACS3Signature.canonicalRequest(
            method: "POST", path: "/2023-03-30/functions/my-fn/invocations", rawQuery: "qualifier=prod+v1", headers: headers,
            signedHeaders: signedNames.split(separator: ";").map(String.init), payloadHash: ACS3Signature.hexSHA256(Array("{\"msg\":\"hi\"}".utf8)))
        #expect(canonical.contains("\nqualifier=prod%20v1\n"))
        #expect(ACS3Signature.signature(secret: "stsSecret/+=x", canonicalRequest: canonical)
                == "25d7b63537a7be38cc8ebd6fd620d282441eea331a0d7dca67403d718fad6663")
        let parsed = ACS3Signature.parseAuthorization("ACS3-HMAC-SHA256 Credential=STS.testAKID,SignedHeaders=\(signedNames),Signature=25d7")
        #expect(parsed?.keyID == "STS.testAKID" && parsed?.signedHeaders.count == 14)
        #expect(ACS3Signature.percentEncode("a b*/~") == "a%20b%2A%2F~")
    }

    @Test func requestDatesParseAsRFC3339WithEveryOffsetAndFraction() {
        // 2026-11-25T00:44:12Z is 1795567452 seconds after the epoch.
        let instant = Date(timeIntervalSince1970: 1_795_567_452)
        #expect(ACS3Signature.iso8601(instant) == "2026-11-25T00:44:12Z")
        #expect(ACS3Signature.parseDate("2026-11-25T00:44:12Z") == instant)
        #expect(ACS3Signature.parseDate("2026-11-25T08:44:12+08:00") == instant)
        #expect(ACS3Signature.parseDate("2026-11-24T19:44:12-05:00") == instant)
        let fractional = ACS3Signature.parseDate("2026-11-25T00:44:12.250Z")
        #expect(fractional.map { abs($0.timeIntervalSince(instant) - 0.25) < 0.001 } == true)
        for bad in ["", "yesterday", "2026-11-25", "2026-13-25T00:44:12Z", "2026-11-25T00:44:12", "2026-11-25T00:44"] {
            #expect(ACS3Signature.parseDate(bad) == nil, "\(bad)")
        }
    }
}

@Suite("confine serve: functions")
struct InvokeRouteTests {
    @Test func syncInvocationReturnsTheResultAndTheLogTail() async throws {
        let service = try await makeService()
        try await service.buildApplication(port: 0).test(.router) { client in
            let event = json(["key": [1, 2]])
            let swift = try await client.send(.post, "/2023-03-30/functions/json-key-swift/invocations", body: event, contentType: "application/octet-stream")
            #expect(swift.status == .ok)
            #expect(String(buffer: swift.body) == "[1,2]")
            let python = try await client.send(.post, "/2023-03-30/functions/json-key/invocations?qualifier=LATEST", body: event,
                                               contentType: "application/octet-stream", extra: ["x-fc-log-type": "Tail", "x-fc-invocation-type": "Sync"])
            #expect(python.status == .ok)
            #expect(String(buffer: python.body) == "[1, 2]")  // Python's str() of the list
            let tail = try #require(python.headers[HTTPField.Name("x-fc-log-result")!])
            #expect(Data(base64Encoded: tail) != nil)
            #expect(python.headers[HTTPField.Name("x-fc-request-id")!] != nil)
        }
        let last = try #require(try await service.store.records().last)
        #expect(last.kind == "invoke" && last.function == "json-key" && last.policy == "python" && last.outcome == "ok" && last.exitStatus == 0)
    }

    @Test func handlerErrorsAndUnknownFunctionsHaveFCShapes() async throws {
        let service = try await makeService()
        try await service.buildApplication(port: 0).test(.router) { client in
            let failing = try await client.send(.post, "/2023-03-30/functions/json-key/invocations", body: Array("not json".utf8),
                                                extra: ["x-fc-log-type": "Tail"])
            #expect(failing.status == .ok)
            #expect(failing.headers[HTTPField.Name("x-fc-error-type")!] == "UnhandledInvocationError")
            let error = object(failing.body)
            #expect(error["errorType"] as? String == "JSONDecodeError" && error["errorMessage"] as? String != nil && error["stackTrace"] is [Any])
            // The log's tail ends with the error, as Function Compute's does: the traceback, then type and message.
            let tail = String(decoding: Data(base64Encoded: failing.headers[HTTPField.Name("x-fc-log-result")!] ?? "") ?? Data(), as: UTF8.self)
            #expect(tail.contains("Traceback (most recent call last):") && tail.contains("index.py") && tail.hasSuffix("JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n"), "\(tail)")
            // The Swift twin answers bad JSON as Python does, not with Foundation's NSError.
            let twin = try await client.send(.post, "/2023-03-30/functions/json-key-swift/invocations", body: Array("not json".utf8))
            #expect(object(twin.body)["errorType"] as? String == "JSONDecodeError", "\(object(twin.body))")

            let unknown = try await client.send(.post, "/2023-03-30/functions/nope/invocations", body: [])
            #expect(unknown.status == .notFound)
            #expect(object(unknown.body)["Code"] as? String == "FunctionNotFound")
            let records = try await service.store.records()
            // a handler's own error: no exit status (the bootstrap's way of reporting it is not an outcome)
            let handlerError = try #require(records.first { $0.function == "json-key" && $0.outcome == "handler-error" })
            #expect(handlerError.exitStatus == nil)
            #expect(records.contains { $0.function == "nope" && $0.outcome == "not-found" && $0.httpStatus == 404 })

            let denied = try await client.send(.post, "/2023-03-30/functions/json-key/invocations", body: [], key: strictKey)
            #expect(denied.status == .forbidden)
            #expect(object(denied.body)["Code"] as? String == "AccessDenied")

            let badType = try await client.send(.post, "/2023-03-30/functions/ls/invocations", body: [], extra: ["x-fc-invocation-type": "Later"])
            #expect(badType.status == .badRequest)
            #expect((object(badType.body)["Message"] as? String ?? "").contains("accepted: Sync, Async"))
        }
    }

    @Test func asyncInvocationIsPersistedBeforeTheAnswerAndRuns() async throws {
        let service = try await makeService()
        try await service.buildApplication(port: 0).test(.live) { client in
            let event = json(["key": "done"])
            let accepted = try await client.send(.post, "/2023-03-30/functions/json-key/invocations", body: event,
                                                 extra: ["x-fc-invocation-type": "Async", "x-fc-async-task-id": "task-1"])
            #expect(accepted.status == .accepted)
            #expect(accepted.headers[HTTPField.Name("x-fc-async-task-id")!] == "task-1")
            // Durable at once: the store already has it.
            #expect(try await service.store.task("task-1") != nil)
            let finished = try await eventually(20) {
                try await service.store.task("task-1")?.status == .succeeded
            }
            #expect(finished)
            let state = object(try await client.send(.get, "/2023-03-30/functions/json-key/async-tasks/task-1", contentType: nil).body)
            #expect(state["status"] as? String == "Succeeded")
            #expect(state["returnPayload"] as? String == "done")
            let duplicate = try await client.send(.post, "/2023-03-30/functions/json-key/invocations", body: event,
                                                  extra: ["x-fc-invocation-type": "Async", "x-fc-async-task-id": "task-1"])
            #expect(duplicate.status == .conflict)
            // Idle again, the workers look for work about once a second each, not in a loop
            // (a cancelled tick once woke the next worker, which woke the next, for ever).
            func polls() async throws -> Double {
                let text = String(buffer: try await client.send(.get, "/metrics", contentType: nil).body)
                let line = text.split(separator: "\n").first { $0.hasPrefix("confine_async_queue_polls_total ") }
                return Double(line?.split(separator: " ").last ?? "") ?? -1
            }
            try await Task.sleep(for: .milliseconds(500))
            let before = try await polls()
            try await Task.sleep(for: .seconds(3))
            let after = try await polls()
            #expect(before >= 0 && after - before <= 40, "the idle workers polled \(after - before) times in 3 s")
        }
    }

    @Test func asyncInvocationSurvivesARestart() async throws {
        let database = scratchDirectory() + "/audit.sqlite"
        // A server accepted the task and stopped while running it: taken, never finished.
        let first = try AuditStore(path: database)
        let task = AsyncTask(id: "survivor", function: "json-key-swift", keyID: "test-key", event: json(["key": 7]),
                             status: .enqueued, created: Date(), attempts: 0)
        try await first.enqueue(task, audit: AuditRecord(requestID: "r1", keyID: "test-key", kind: "invoke-async", outcome: "queued", httpStatus: 202))
        _ = try await first.claim()
        #expect(try await first.task("survivor")?.status == .running)
        let second = try await makeService(database: database)
        // Making the service changes nothing; its start queues the task again and runs it.
        #expect(try await second.store.task("survivor")?.status == .running)
        try await second.buildApplication(port: 0).test(.live) { _ in
            let done = try await eventually(20) { try await second.store.task("survivor")?.status == .succeeded }
            #expect(done)
        }
        #expect(try await second.store.task("survivor")?.result == Array("7".utf8))
        #expect(try await second.store.task("survivor")?.attempts == 2)
    }
}

@Suite("confine serve: operations")
struct OperationsTests {
    @Test func overloadAnswers503WithRetryAfter() async throws {
        let service = try await makeService(concurrency: 1, queue: 0)
        try await service.buildApplication(port: 0).test(.router) { client in
            async let slow = client.exec(["argv": ["sleep", "1"]])
            try await Task.sleep(for: .milliseconds(300))
            let refused = try await client.exec(["argv": ["true"]])
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.headers[.retryAfter] == "1")
            #expect(object(refused.body)["Code"] as? String == "ServerBusy")
            #expect(try await slow.status == .ok)
            #expect(try await client.exec(["argv": ["true"]]).status == .ok)
        }
    }

    @Test func perKeyRateLimitAnswers429() async throws {
        let limited = ServiceConfiguration.Key(id: "slow-key", secret: "slow-key-secret-0123", functions: ["*"], policies: ["default"],
                                               rateLimit: 0.01, burst: 2)
        let service = try await makeService(keys: [limited, testKey])
        try await service.buildApplication(port: 0).test(.router) { client in
            #expect(try await client.exec(["argv": ["true"]], key: limited).status == .ok)
            #expect(try await client.exec(["argv": ["true"]], key: limited).status == .ok)
            let third = try await client.exec(["argv": ["true"]], key: limited)
            #expect(third.status == .tooManyRequests)
            #expect(Int(third.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(object(third.body)["Code"] as? String == "ResourceExhausted")
            // Other keys are not affected.
            #expect(try await client.exec(["argv": ["true"]]).status == .ok)
        }
    }

    @Test func healthAndUnknownRoutes() async throws {
        let service = try await makeService()
        try await service.buildApplication(port: 0).test(.live) { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            let missing = try await client.execute(uri: "/v2/nothing", method: .get)
            #expect(missing.status == .notFound)
            #expect(object(missing.body)["Code"] as? String == "NotFound")
            // End to end over a real socket, signed.
            let response = try await client.exec(["argv": ["echo", "over", "tcp"]])
            #expect(Data(base64Encoded: object(response.body)["stdout"] as? String ?? "") == Data("over tcp\n".utf8))
        }
    }

    @Test func aClientThatGoesAwayMidStreamKillsTheCommand() async throws {
        let service = try await makeService()
        let marker = "confine-stream-\(UUID().uuidString.prefix(8))"
        try await service.buildApplication(port: 0).test(.live) { client in
            let port = try #require(client.port)
            let body = json(["argv": ["sh", "-c", "while true; do echo \(marker); sleep 0.05; done"], "timeout": 60])
            let headers = signed(.post, "/v1/exec/stream", body: body)
            var head = "POST /v1/exec/stream HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(body.count)\r\n"
            for field in headers { head += "\(field.name.rawName): \(field.value)\r\n" }
            let request = Array((head + "\r\n").utf8) + body
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(connected == 0)
            _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &buffer, buffer.count)
            #expect(n > 0)
            #expect(String(decoding: buffer.prefix(max(0, n)), as: UTF8.self).contains("200"))
            #expect(await eventually(10) { processRunning(marker) })
            close(fd)
            #expect(await eventually(10) { !processRunning(marker) })
            #expect(try await eventually(10) { try await service.store.records().last?.outcome == "disconnected" })
        }
    }
}
