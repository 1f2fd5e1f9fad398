import ArgumentParser
import ConfineCommandLine
import ConfineExamples
import ConfinePolicy
import ConfineRuntime
import ConfineService
import Foundation
import Logging

extension ServerCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve functions and command execution over HTTP: signed requests, per-key grants, an audit log, metrics.",
            discussion: """
                Routes: POST /2023-03-30/functions/{name}/invocations (Function Compute's InvokeFunction, \
                Sync or Async), GET /2023-03-30/functions/{name}/async-tasks/{id}, POST /v1/exec, \
                POST /v1/exec/stream, GET /healthz, GET /metrics. SIGTERM or SIGINT stops accepting work, \
                lets in-flight work finish for the grace period, then kills what remains. See openapi.yaml.
                """
        )

        @Option(help: "The service file (JSON).") var config: String
        @Option(help: "The address to listen on.") var host = "127.0.0.1"
        @Option(help: "The port to listen on.") var port = 9000
        @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"

        func run() async throws {
            guard let level = Logger.Level(rawValue: logLevel) else {
                fail("--log-level '\(logLevel)' is not a level (accepted: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))", status: 2)
            }
            guard (0...65535).contains(port) else { fail("--port \(port) is out of range (accepted: 0 to 65535)", status: 2) }
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let configuration: ServiceConfiguration
            do { configuration = try ServiceConfiguration.load(config) } catch { fail("\(error)", status: 2) }
            let registry = HandlerRegistry()
            Examples.register(in: registry)
            do {
                let service = try await ConfineService(configuration: configuration, registry: registry)
                try await service.run(host: host, port: port)
            } catch {
                fail("\(error)", status: 1)
            }
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "log",
            abstract: "Show the service's audit log: every invocation, execution and refused request.")

        @Option(help: "The service file whose audit log to read.") var config: String?
        @Option(help: "The audit log itself (instead of --config): a SQLite file, or a postgres:// URL.") var database: String?
        @Option(help: "Only records since: a duration ago (30m, 2h) or an ISO 8601 time.") var since: String?
        @Option(help: "Only records of this access key id.") var key: String?
        @Option(help: "At most this many records (the newest).") var limit = 1000
        @Flag(help: "One JSON object per line.") var json = false

        func run() async throws {
            let location: ServiceConfiguration.Store
            switch (config, database) {
            case (let file?, nil):
                do { location = try ServiceConfiguration.load(file).store } catch { fail("\(error)", status: 2) }
            case (nil, let p?):
                if p.hasPrefix("postgres://") || p.hasPrefix("postgresql://") {
                    if let problem = ServiceConfiguration.Store.problem(postgresURL: p) { fail("--database \(problem)", status: 2) }
                    location = .postgres(url: p)
                } else if p.contains("://") {
                    fail("--database '\(ServiceConfiguration.Store.redacted(p))' names a store Confine does not have (accepted: a SQLite file, or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)", status: 2)
                } else {
                    location = .sqlite(path: p)
                }
            default: fail("give --config FILE or --database FILE|URL (one of them)", status: 2)
            }
            if case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) { fail("no audit log at \(path)", status: 2) }
            var start: Date?
            if let since {
                if let ago = Quantity.parseDuration(since) {
                    start = Date().addingTimeInterval(-ago.seconds)
                } else if let date = ISO8601DateFormatter().date(from: since) {
                    start = date
                } else {
                    fail("--since '\(since)' is neither a duration (\(Quantity.acceptedDurations)) nor an ISO 8601 time", status: 2)
                }
            }
            guard limit > 0 else { fail("--limit must be at least 1", status: 2) }
            let records: [AuditRecord]
            do {
                let store = try await ServiceStores.open(location, logger: Logger(label: "confine.log", factory: { _ in SwiftLogNoOpLogHandler() }))
                defer { Task { await store.close() } }
                records = try await store.records(since: start, keyID: key, limit: limit)
            } catch { fail("cannot read the audit log: \(error)", status: 1) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            let formatter = ISO8601DateFormatter()
            for record in records {
                if json {
                    guard let data = try? encoder.encode(record) else { continue }
                    FileHandle.standardOutput.write(data + Data("\n".utf8))
                } else {
                    let what = record.function ?? record.argv.map { $0.joined(separator: " ") } ?? "-"
                    var line = "\(formatter.string(from: record.time))  \(record.keyID ?? "-")  \(record.kind)  \(what)  policy=\(record.policy ?? "-")  "
                    line += "\(record.outcome)  http=\(record.httpStatus)"
                    if let status = record.exitStatus { line += "  exit=\(status)" }
                    if let refused = record.refusedSyscall { line += "  refused=\(refused)" }
                    line += String(format: "  %.1fms  in=%d out=%d", record.duration * 1000, record.bytesIn, record.bytesOut)
                    if let message = record.message { line += "  \(message)" }
                    print(line)
                }
            }
        }
    }
}
