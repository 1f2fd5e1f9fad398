import Confine
import ConfinePolicy
import ConfineRuntime
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension HTTPField.Name {
    static let fcInvocationType = HTTPField.Name("x-fc-invocation-type")!
    static let fcLogType = HTTPField.Name("x-fc-log-type")!
    static let fcLogResult = HTTPField.Name("x-fc-log-result")!
    static let fcErrorType = HTTPField.Name("x-fc-error-type")!
    static let fcAsyncTaskID = HTTPField.Name("x-fc-async-task-id")!
}

extension ConfineService {
    /// Holds a concurrency slot around `body`, keeping the gauges current.
    func admitted<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await admission.acquire()
        metrics.inFlight.increment()
        defer {
            admission.release()
            metrics.inFlight.decrement()
        }
        return try await work.run(body)
    }

    // MARK: InvokeFunction

    /// `POST /2023-03-30/functions/{name}/invocations`: Function Compute 3.0's InvokeFunction.
    /// - Throws: `ServiceError` (404 no such function, 403 not granted, 400 bad headers, 503 busy).
    func invoke(_ request: Request, signed: Signed, name: String) async throws -> Response {
        guard let runtime, let function = runtime.configuration.functions[name] else {
            throw ServiceError(.notFound, "FunctionNotFound", "function '\(Self.printable(name))' does not exist")
        }
        guard signed.key.mayInvoke(name) else {
            throw ServiceError(.forbidden, "AccessDenied", "access key '\(signed.key.id)' may not invoke function '\(name)'")
        }
        let type = request.headers[.fcInvocationType] ?? "Sync"
        guard type == "Sync" || type == "Async" else {
            throw ServiceError(.badRequest, "InvalidArgument", "x-fc-invocation-type '\(Self.printable(type))' is not supported (accepted: Sync, Async)")
        }
        let logType = request.headers[.fcLogType] ?? "None"
        guard logType == "Tail" || logType == "None" else {
            throw ServiceError(.badRequest, "InvalidArgument", "x-fc-log-type '\(Self.printable(logType))' is not supported (accepted: Tail, None)")
        }
        if type == "Async" { return try await enqueue(request, signed: signed, function: name) }

        let invocation = try await admitted { await runtime.invoke(name, event: signed.body, requestID: signed.requestID) }
        var headers = HTTPFields()
        headers[Self.requestIDHeader] = signed.requestID
        if logType == "Tail" { headers[.fcLogResult] = Data(invocation.log.suffix(4096)).base64EncodedString() }
        let body: [UInt8]
        let outcome: String
        switch invocation.result {
        case .success(let result):
            body = result
            outcome = "ok"
            headers[.contentType] = "application/octet-stream"
        case .failure(let error):
            body = error.json
            outcome = error.errorType == "FunctionTimeout" ? "timeout" : "handler-error"
            headers[.contentType] = "application/json"
            headers[.fcErrorType] = "UnhandledInvocationError"
        }
        let process = invocation.process
        let record = AuditRecord(
            requestID: signed.requestID, keyID: signed.key.id, kind: "invoke", function: name, policy: function.policy.name,
            outcome: outcome, exitStatus: invocation.exitStatus, signal: process?.signal,
            refusedSyscall: process?.refused.first?.description, duration: signed.arrived.duration(to: .now).seconds,
            bytesIn: signed.body.count, bytesOut: body.count, httpStatus: 200, nonce: signed.nonce,
            message: invocation.result.failureText)
        for refusal in process?.refused ?? [] { metrics.refused(policy: function.policy.name, syscall: refusal.name) }
        metrics.completed(route: "invoke", function: name, outcome: outcome, duration: signed.arrived.duration(to: .now))
        if let failure = await persist(record) { throw failure }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// An asynchronous invocation: persisted (durably) before the 202, run by the worker.
    func enqueue(_ request: Request, signed: Signed, function: String) async throws -> Response {
        let id = request.headers[.fcAsyncTaskID] ?? signed.requestID
        guard !id.isEmpty, id.utf8.count <= 128, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw ServiceError(.badRequest, "InvalidArgument", "x-fc-async-task-id must be 1 to 128 letters, digits, '-' or '_'")
        }
        let task = AsyncTask(id: id, function: function, keyID: signed.key.id, event: signed.body, status: .enqueued,
                             created: Date(), attempts: 0)
        let record = AuditRecord(requestID: signed.requestID, keyID: signed.key.id, kind: "invoke-async", function: function,
                                 outcome: "queued", duration: signed.arrived.duration(to: .now).seconds, bytesIn: signed.body.count,
                                 httpStatus: 202, nonce: signed.nonce, message: "task \(id)")
        do { try await store.enqueue(task, audit: record) } catch { throw Self.unavailable(error) }
        worker.wake()
        metrics.completed(route: "async", function: function, outcome: "queued", duration: signed.arrived.duration(to: .now))
        var headers = HTTPFields()
        headers[Self.requestIDHeader] = signed.requestID
        headers[.fcAsyncTaskID] = id
        return Response(status: .accepted, headers: headers)
    }

    /// `GET /2023-03-30/functions/{name}/async-tasks/{id}`: an asynchronous invocation's state and outcome.
    /// - Throws: `ServiceError` (403 not granted, 404 no such task).
    func asyncTask(signed: Signed, name: String, id: String) async throws -> Response {
        guard signed.key.mayInvoke(name) else {
            throw ServiceError(.forbidden, "AccessDenied", "access key '\(signed.key.id)' may not read tasks of function '\(Self.printable(name))'")
        }
        let found: AsyncTask?
        do { found = try await store.task(id) } catch { throw Self.unavailable(error) }
        guard let task = found, task.function == name else {
            throw ServiceError(.notFound, "AsyncTaskNotFound", "no asynchronous task '\(Self.printable(id))' of function '\(Self.printable(name))'")
        }
        var object: [String: Any] = [
            "taskId": task.id, "functionName": task.function, "status": task.status.rawValue,
            "taskPayload": String(decoding: task.event, as: UTF8.self), "attempts": task.attempts,
            "createdTime": Int(task.created.timeIntervalSince1970 * 1000),
        ]
        if let started = task.started { object["startedTime"] = Int(started.timeIntervalSince1970 * 1000) }
        if let finished = task.finished { object["endTime"] = Int(finished.timeIntervalSince1970 * 1000) }
        if let result = task.result { object["returnPayload"] = String(decoding: result, as: UTF8.self) }
        if let error = task.error { object["taskErrorMessage"] = error }
        return Self.response(.ok, json: object, requestID: signed.requestID)
    }

    // MARK: /v1/exec

    /// `POST /v1/exec` and `/v1/exec/stream`: a command under a granted policy. The answer is
    /// the same record `confine run --json` prints; the stream sends output lines as they come.
    /// - Throws: `ServiceError` (415, 400 a bad request body, 403 a policy or folder not granted, 503 busy).
    func exec(_ request: Request, signed: Signed, streaming: Bool) async throws -> Response {
        let kind = streaming ? "exec-stream" : "exec"
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == "application/json" else {
            throw ServiceError(.unsupportedMediaType, "UnsupportedMediaType",
                               "Content-Type '\(Self.printable(contentType))' is not accepted (accepted: application/json)")
        }
        let spec = try ExecRequest.parse(signed.body, maxTimeout: configuration.maxTimeout)
        let (policy, executor) = try catalog.grant(spec.policy, to: signed.key)
        var environment = policy.environment
        environment.merge(spec.environment) { $1 }
        var request = Command(spec.argv, stdin: .bytes(spec.stdin), stdout: .pipe, stderr: .pipe,
                              environment: environment, workingDirectory: spec.workingDirectory, timeout: spec.timeout)
        request.argumentBytes = spec.argvBytes
        // Values given in hex reach the command byte for byte.
        if !spec.environmentBytes.isEmpty {
            request.environmentBytes = Command.environmentBytes(
                environment, overriddenBy: Dictionary(spec.environmentBytes.map { (Array($0.key.utf8), $0.value) }) { $1 })
        }
        // Never the service's own directory: without a cwd, a fresh private folder per request.
        request.privateWorkingDirectory = spec.workingDirectory == nil
        do { try executor.checkWorkingDirectory(of: request) } catch let error as ConfineError {
            switch error.code {
            case .workingDirectoryNotAdmitted: throw ServiceError(.forbidden, "WorkingDirectoryNotAdmitted", "cwd: \(error.message)")
            default: break  // a missing folder is the command's outcome: a record with status "error"
            }
        }
        // Killed by shutdown or a client going away: still a record, with the output so far.
        request.cancellationIsResult = true
        let command = request
        if streaming {
            return try await stream(command, executor: executor, policy: policy, signed: signed)
        }
        let record = try await admitted { await Self.run(command, executor: executor, policy: policy) }
        return try await answer(record, signed: signed, kind: kind)
    }

    /// Runs a command; a failure to start is a record too (status "error" or "refused").
    static func run(_ command: Command, executor: Executor, policy: Policy) async -> ResultRecord {
        do {
            return ResultRecord(try await executor.execute(command))
        } catch let error as ConfineError {
            return ResultRecord(command: command.arguments, policy: policy.name, error: error)
        } catch {
            return ResultRecord(command: command.arguments, policy: policy.name,
                                error: ConfineError(.launcherFailed, "cannot run the command: \(error)"))
        }
    }

    func audit(_ record: ResultRecord, signed: Signed, kind: String, bytesOut: Int, outcome: String? = nil) -> AuditRecord {
        AuditRecord(requestID: signed.requestID, keyID: signed.key.id, kind: kind, argv: record.argv, policy: record.policy,
                    outcome: outcome ?? record.status, exitStatus: record.exitCode, signal: record.signal,
                    refusedSyscall: record.refusedSyscall, duration: signed.arrived.duration(to: .now).seconds,
                    bytesIn: signed.body.count, bytesOut: bytesOut, httpStatus: 200, nonce: signed.nonce,
                    message: record.error.map { "\($0.code): \($0.message)" })
    }

    func answer(_ record: ResultRecord, signed: Signed, kind: String) async throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(record)
        for refusal in record.refused { metrics.refused(policy: record.policy, syscall: refusal.syscall) }
        metrics.completed(route: kind, function: "", outcome: record.status, duration: signed.arrived.duration(to: .now))
        if let failure = await persist(audit(record, signed: signed, kind: kind, bytesOut: body.count)) { throw failure }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[Self.requestIDHeader] = signed.requestID
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The streamed variant: newline-delimited JSON, chunked — `{"stream":"stdout","data":"<base64>"}`
    /// per piece of output, then `{"result":{...}}`. A client that goes away kills the command.
    func stream(_ base: Command, executor: Executor, policy: Policy, signed: Signed) async throws -> Response {
        try await admission.acquire()
        metrics.inFlight.increment()
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson"
        headers[Self.requestIDHeader] = signed.requestID
        let body = ResponseBody { [self] writer in
            defer {
                admission.release()
                metrics.inFlight.decrement()
            }
            let (chunks, continuation) = AsyncStream<OutputChunk>.makeStream()
            var streamed = base
            streamed.onOutput = { continuation.yield($0) }
            let command = streamed
            let running = Task { [work] in
                defer { continuation.finish() }
                return try await work.run { await Self.run(command, executor: executor, policy: policy) }
            }
            var sent = 0
            var disconnected = false
            for await chunk in chunks where !disconnected {
                let line = "{\"stream\":\"\(chunk.stream.rawValue)\",\"data\":\"\(Data(chunk.bytes).base64EncodedString())\"}\n"
                do {
                    try await writer.write(ByteBuffer(string: line))
                    sent += line.utf8.count
                } catch {
                    disconnected = true
                    running.cancel()
                }
            }
            let record: ResultRecord
            do { record = try await running.value } catch {
                record = ResultRecord(command: base.arguments, policy: policy.name,
                                      error: ConfineError(.launcherFailed, "the command was stopped: \(error)"))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let last = (try? encoder.encode(["result": record])) ?? Data()
            for refusal in record.refused { metrics.refused(policy: record.policy, syscall: refusal.syscall) }
            let outcome = disconnected ? "disconnected" : record.status
            metrics.completed(route: "exec-stream", function: "", outcome: outcome, duration: signed.arrived.duration(to: .now))
            _ = await persist(audit(record, signed: signed, kind: "exec-stream", bytesOut: sent + last.count, outcome: outcome))
            if !disconnected {
                try await writer.write(ByteBuffer(bytes: last + Data("\n".utf8)))
                try await writer.finish(nil)
            }
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

extension Result where Success == [UInt8], Failure == FunctionError {
    var failureText: String? {
        if case .failure(let error) = self { return "\(error.errorType): \(error.errorMessage)" }
        return nil
    }
}
