import Confine
import ConfineExamples
import ConfinePolicy
import ConfineRuntime
import ConfineService
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
#if canImport(Glibc)
import Glibc
#endif

/// `confine-bench --serve`: wrk against `confine serve`'s application on loopback, confined
/// `ls -l` through both routes (POST /v1/exec and InvokeFunction of a Swift handler that runs
/// it), beside the same command spawned directly from one process by as many tasks.
enum LoadBenchmark {
    struct Row {
        var name: String
        var requests: Int
        var seconds: Double
        var p50: Double  // ms
        var p99: Double
        var errors: Int
        var perSecond: Double { Double(requests) / seconds }
    }

    static let keyID = "bench-key"
    static let secret = "bench-secret-0123456789abcdef"

    static func run(quick: Bool) async throws {
        requireWrk()
        let duration = quick ? 5 : 15
        let connections = 16
        let directory = NSTemporaryDirectory() + "confine-load-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let functions = try FunctionConfiguration.load(repository.appendingPathComponent("examples/functions.json").path)
        let key = ServiceConfiguration.Key(id: keyID, secret: secret, functions: ["*"], policies: ["default"])
        // As many commands at once as wrk has connections, like the direct row's tasks.
        let configuration = ServiceConfiguration(functions: functions, keys: [key], store: .sqlite(path: "\(directory)/audit.sqlite"),
                                                 concurrency: connections, queueLimit: 4096)
        let registry = HandlerRegistry()
        Examples.register(in: registry)
        let service = try await ConfineService(configuration: configuration, registry: registry)
        let port = 19000 + Int(getpid() % 1000)
        let server = try await serve(service, port: port)
        defer { server.cancel() }

        print("== load: wrk -t2 -c\(connections) -d\(duration)s against confine serve on loopback; confined `ls -l` (ms) ==")
        print(LoadBenchmark.pad("", 52) + pad("req/s", 9) + pad("p50", 8) + pad("p99", 8) + "errors")
        // The same command spawned directly, from as many tasks as wrk has connections: before
        // and after the service's rows (this machine's rate drifts; the peer is their mean).
        let executor = try Executor(policy: try PolicyReader().load("default"))
        let before = try await spawnDirectly(executor, seconds: Double(duration) / 2, tasks: connections)
        var rows: [Row] = []
        let execBody = Array(#"{"argv":["ls","-l"],"timeout":10}"#.utf8)
        rows.append(try await wrk("POST /v1/exec  {argv: [ls, -l]}", path: "/v1/exec", body: execBody, contentType: "application/json",
                                  port: port, duration: duration, connections: connections, directory: directory, service: service))
        rows.append(try await wrk("InvokeFunction ls-swift (Swift handler runs ls -l)", path: "/2023-03-30/functions/ls-swift/invocations",
                                  body: [], contentType: "application/octet-stream", port: port, duration: duration,
                                  connections: connections, directory: directory, service: service))
        server.cancel()
        _ = try? await server.value

        let after = try await spawnDirectly(executor, seconds: Double(duration) / 2, tasks: connections)
        var direct = after
        direct.requests += before.requests
        direct.seconds += before.seconds
        direct.p50 = (before.p50 + after.p50) / 2
        direct.p99 = max(before.p99, after.p99)
        direct.errors += before.errors
        direct.name += " (before and after)"
        rows.append(direct)
        for row in rows { print(LoadBenchmark.pad(row.name, 52) + String(format: "%-9.0f%-8.2f%-8.2f%d", row.perSecond, row.p50, row.p99, row.errors)) }

        print("\n== targets (issue 13: >= 0.9x the direct rate; issue 5: >= 500/s, p99 < 50 ms; zero errors) ==")
        for row in rows.dropLast() {
            let ratio = row.perSecond / direct.perSecond
            print((ratio >= 0.9 && row.errors == 0 ? "PASS " : "MISS ") + String(format: "%@: %.2fx the direct spawn rate", row.name, ratio))
            let ok = row.perSecond >= 500 && row.p99 < 50 && row.errors == 0
            print((ok ? "PASS " : "MISS ") + String(format: "%@: %.0f/s, p99 %.2f ms, %d errors", row.name, row.perSecond, row.p99, row.errors))
        }
    }

    /// `confine-bench --serve --fleet`: the store's cost. The same signed `/v1/exec` of `true`
    /// against one node on SQLite, one node on PostgreSQL, and two nodes sharing PostgreSQL (two
    /// wrk at once, one per node, summed). On one 2-core machine the two nodes share the cores,
    /// so the last row shows what sharing the store costs, not how a fleet scales. PostgreSQL:
    /// `$CONFINE_BENCH_POSTGRES`, else a throwaway one started by scripts/postgres.sh.
    static func runFleet(quick: Bool) async throws {
        requireWrk()
        let duration = quick ? 5 : 15
        let connections = 16
        let directory = NSTemporaryDirectory() + "confine-fleet-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = repository.appendingPathComponent("scripts/postgres.sh").path
        var database: String?
        let url: String
        if let given = ProcessInfo.processInfo.environment["CONFINE_BENCH_POSTGRES"], !given.isEmpty {
            url = given
        } else {
            database = "/var/tmp/confine-bench-pg-\(getpid())"
            let started = try runCapturing([script, "start", database!])
            guard let line = started.split(separator: "\n").last(where: { $0.hasPrefix("postgres://") }) else {
                print("cannot start PostgreSQL (scripts/postgres.sh):\n\(started)")
                exit(1)
            }
            url = String(line)
        }
        defer { if let database { _ = try? runCapturing([script, "stop", database]) } }

        let key = ServiceConfiguration.Key(id: keyID, secret: secret, functions: ["*"], policies: ["default"])
        let body = Array(#"{"argv":["true"],"timeout":10}"#.utf8)
        var nextPort = 19500 + Int(getpid() % 400)
        func node(_ store: ServiceConfiguration.Store) async throws -> (ConfineService, Task<Void, any Error>, Int) {
            let configuration = ServiceConfiguration(keys: [key], store: store, concurrency: connections, queueLimit: 4096)
            let service = try await ConfineService(configuration: configuration)
            nextPort += 1
            return (service, try await serve(service, port: nextPort), nextPort)
        }
        func stop(_ server: Task<Void, any Error>, _ service: ConfineService) async {
            server.cancel()
            _ = try? await server.value
            await service.store.close()
        }
        print("== fleet: wrk -t2 -c\(connections) -d\(duration)s, signed POST /v1/exec of `true` (the store's share of a request) ==")
        print(pad("", 58) + pad("req/s", 9) + pad("p50", 8) + pad("p99", 8) + "errors")
        var rows: [Row] = []
        let sqlite = try await node(.sqlite(path: "\(directory)/audit.sqlite"))
        rows.append(try await wrk("one node, SQLite (WAL, synchronous=FULL)", path: "/v1/exec", body: body, contentType: "application/json",
                                  port: sqlite.2, duration: duration, connections: connections, directory: directory, service: sqlite.0))
        await stop(sqlite.1, sqlite.0)
        let one = try await node(.postgres(url: url))
        rows.append(try await wrk("one node, PostgreSQL (loopback)", path: "/v1/exec", body: body, contentType: "application/json",
                                  port: one.2, duration: duration, connections: connections, directory: directory, service: one.0))
        await stop(one.1, one.0)
        let a = try await node(.postgres(url: url)), b = try await node(.postgres(url: url))
        async let first = wrk("node A", path: "/v1/exec", body: body, contentType: "application/json", port: a.2, duration: duration,
                              connections: connections / 2, directory: directory, service: a.0, tag: "-a", countRecords: false)
        async let second = wrk("node B", path: "/v1/exec", body: body, contentType: "application/json", port: b.2, duration: duration,
                               connections: connections / 2, directory: directory, service: b.0, tag: "-b", countRecords: false)
        let (ra, rb) = try await (first, second)
        rows.append(Row(name: "two nodes, one PostgreSQL (summed; same 2 cores)", requests: ra.requests + rb.requests,
                        seconds: max(ra.seconds, rb.seconds), p50: (ra.p50 + rb.p50) / 2, p99: max(ra.p99, rb.p99), errors: ra.errors + rb.errors))
        await stop(a.1, a.0)
        await stop(b.1, b.0)
        for row in rows { print(pad(row.name, 58) + String(format: "%-9.0f%-8.2f%-8.2f%d", row.perSecond, row.p50, row.p99, row.errors)) }
        let base = rows[0].perSecond
        print(String(format: "\nPostgreSQL one node: %.2fx SQLite's rate; two nodes: %.2fx (the cores are shared, so this is the store's cost)",
                     rows[1].perSecond / base, rows[2].perSecond / base))
    }

    static func requireWrk() {
        guard access("/usr/bin/wrk", X_OK) == 0 else {
            print("wrk is not installed (apt-get install -y wrk, or scripts/install-deps.sh)")
            exit(1)
        }
    }

    /// Runs the service's application on loopback; returns once `/healthz` answers.
    static func serve(_ service: ConfineService, port: Int) async throws -> Task<Void, any Error> {
        let app = service.buildApplication(host: "127.0.0.1", port: port)
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        for _ in 0..<100 {
            if (try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!)) != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return server
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }

    /// Runs wrk with pre-signed requests (each nonce is single-use), then counts errors: non-2xx
    /// answers, socket errors, and answers whose audit record is not `ok`.
    static func wrk(_ name: String, path: String, body: [UInt8], contentType: String, port: Int, duration: Int,
                    connections: Int, directory: String, service: ConfineService, tag: String = "", countRecords: Bool = true) async throws -> Row {
        let threads = 2
        let perThread = 6000 * duration / threads + 1000
        let host = "127.0.0.1:\(port)"
        let date = Date()
        for thread in 0..<threads {
            var lines = ""
            lines.reserveCapacity(perThread * 120)
            for _ in 0..<perThread {
                let nonce = UUID().uuidString
                let headers = ACS3Signature.sign(method: "POST", path: path, headers: ["host": host, "content-type": contentType],
                                                 body: body, keyID: keyID, secret: secret, date: date, nonce: nonce)
                lines += "\(headers["x-acs-date"] ?? "")\t\(nonce)\t\(headers["authorization"] ?? "")\n"
            }
            try lines.write(toFile: "\(directory)/signed\(tag)-\(thread).tsv", atomically: false, encoding: .utf8)
        }
        let bodyText = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let script = """
            local counter = 0
            function setup(thread) thread:set("id", counter); counter = counter + 1 end
            local rows = {}
            local n = 0
            function init(args)
              for line in io.lines("\(directory)/signed\(tag)-" .. id .. ".tsv") do
                local d, nonce, auth = line:match("([^\\t]*)\\t([^\\t]*)\\t(.*)")
                rows[#rows + 1] = { d, nonce, auth }
              end
            end
            function request()
              n = n + 1
              local r = rows[(n - 1) % #rows + 1]
              return wrk.format("POST", "\(path)", {
                ["Host"] = "\(host)", ["Content-Type"] = "\(contentType)", ["x-acs-date"] = r[1],
                ["x-acs-signature-nonce"] = r[2], ["x-acs-content-sha256"] = "\(ACS3Signature.hexSHA256(body))",
                ["Authorization"] = r[3] }, "\(bodyText)")
            end
            function done(summary, latency, requests)
              io.write(string.format("RESULT %d %f %f %f %d %d %d %d %d\\n", summary.requests, summary.duration / 1e6,
                latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.connect, summary.errors.read,
                summary.errors.write, summary.errors.status, summary.errors.timeout))
            end
            """
        try script.write(toFile: "\(directory)/load\(tag).lua", atomically: false, encoding: .utf8)
        let since = Date()
        // (off Swift's cooperative threads: two of these wait at once in the fleet run, and on
        // two cores blocking both would starve the services under test, in this same process)
        let output = try await runCapturingOffPool(["/usr/bin/wrk", "-t\(threads)", "-c\(connections)", "-d\(duration)s", "--timeout", "10s",
                                       "-s", "\(directory)/load\(tag).lua", "http://\(host)"])
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("RESULT ") }) else {
            print(output)
            return Row(name: name, requests: 0, seconds: 1, p50: 0, p99: 0, errors: 1)
        }
        let f = line.split(separator: " ").dropFirst().map { Double($0) ?? 0 }
        let socketAndStatusErrors = f[4...8].reduce(0, +)
        let records = countRecords ? try await service.store.records(since: since, keyID: nil, limit: 1_000_000) : []
        let notOK = records.filter { $0.outcome != "ok" }.count
        if Int(f[0]) > perThread * threads { print("note: wrk sent more requests than were signed; replays were refused") }
        return Row(name: name, requests: Int(f[0]), seconds: f[1], p50: f[2], p99: f[3], errors: Int(socketAndStatusErrors) + notOK)
    }

    static func spawnDirectly(_ executor: Executor, seconds: Double, tasks: Int) async throws -> Row {
        let start = ContinuousClock.now
        let end = start.advanced(by: .milliseconds(Int(seconds * 1000)))
        let results: [([Double], Int)] = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    var samples: [Double] = []
                    var errors = 0
                    while ContinuousClock.now < end {
                        let t = ContinuousClock.now
                        let result = try await executor.execute(Command(["ls", "-l"], stdin: .null, stdout: .pipe, stderr: .pipe))
                        if result.status != .ok { errors += 1 }
                        samples.append(t.duration(to: .now).seconds * 1000)
                    }
                    return (samples, errors)
                }
            }
            var all: [([Double], Int)] = []
            for try await r in group { all.append(r) }
            return all
        }
        let samples = results.flatMap(\.0).sorted()
        let elapsed = start.duration(to: .now).seconds
        func pct(_ p: Double) -> Double { samples.isEmpty ? 0 : samples[min(samples.count - 1, Int(Double(samples.count) * p))] }
        return Row(name: "direct: executor.execute(ls -l) from \(tasks) tasks", requests: samples.count, seconds: elapsed,
                   p50: pct(0.5), p99: pct(0.99), errors: results.map(\.1).reduce(0, +))
    }

    static func runCapturingOffPool(_ argv: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try runCapturing(argv) }) }
        }
    }

    static func runCapturing(_ argv: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
