import ConfineCommandLine
import ArgumentParser
import Confine
import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

extension ConfineCommand {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "Score policies from 0 (nothing exposed) to 10 and name every risky permission.",
            discussion: """
                POLICY is a name, a file, or a directory (every *.json in it). Exit status: 0 when every \
                policy is below --fail-on (or none is given), 1 when one is at or above it, 2 when a policy \
                or the weights file cannot be read. Labels: PERFECT < 0.5 <= SAFE < 2 <= OK < 4 <= MEDIUM \
                < 6 <= EXPOSED < 8 <= UNSAFE < 9.5 <= DANGEROUS. The JSON form (--format json) is \
                {"schema": 1, "policies": [{"policy", "file", "exposure", "label", "findings": [{"id", \
                "severity", "points", "title", "origin", "why", "fix"}]}], "errors": [{"file", "line", \
                "field", "message"}]}.
                """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, sarif }

        @Option(help: "text for people, json for CI, sarif (SARIF 2.1.0) for code scanning (GitHub and most CI security tools).")
        var format: Format = .text

        @Option(name: .customLong("fail-on"), help: "Exit 1 if a policy's label is at or above this one (perfect, safe, ok, medium, exposed, unsafe, dangerous).")
        var failOn: String?

        @Option(help: "A JSON object of finding id to points, laid over the built-in weights.")
        var weights: String?

        @Argument(help: "Policies: names, files or directories.")
        var policies: [String]

        func run() throws {
            var threshold: ExposureLabel?
            if let failOn {
                guard let label = ExposureLabel(level: failOn) else {
                    fail("--fail-on '\(failOn)' is not a level (accepted: \(ExposureLabel.allCases.map { $0.rawValue.lowercased() }.joined(separator: ", ")))", status: 2)
                }
                threshold = label
            }
            var auditor = PolicyAuditor()
            if let weights {
                guard let data = FileManager.default.contents(atPath: weights) else { fail("\(weights): cannot be read", status: 2) }
                do { auditor.weights = try AuditWeights.load([UInt8](data), file: weights) } catch { fail("\(error)", status: 2) }
            }
            let reader = PolicyReader()
            var reports: [AuditReport] = []
            var errors: [PolicyError] = []
            for target in policies {
                for path in Self.expand(target) {
                    do { reports.append(auditor.audit(try reader.load(path))) } catch let error as PolicyError {
                        errors.append(error)
                    } catch {
                        errors.append(PolicyError(file: path, path: "", message: "\(error)"))
                    }
                }
            }
            switch format {
            case .text: printText(reports, errors)
            case .json: printJSON(reports, errors)
            case .sarif: printSARIF(reports, errors)
            }
            if !errors.isEmpty { Glibc.exit(2) }
            if let threshold, reports.contains(where: { $0.label >= threshold }) { Glibc.exit(1) }
        }

        /// A directory's *.json files, sorted; anything else as given.
        static func expand(_ target: String) -> [String] {
            var isDirectory = false
            guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory), isDirectory else { return [target] }
            let files = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
            return files.filter { $0.hasSuffix(".json") }.sorted().map { (target.hasSuffix("/") ? target : target + "/") + $0 }
        }

        func printText(_ reports: [AuditReport], _ errors: [PolicyError]) {
            for report in reports {
                print("\(report.policy) (\(report.file ?? "-")): exposure \(TextFormat.oneDecimal(report.exposure)) \(report.label.rawValue)")
                if report.findings.isEmpty { print("  no findings") }
                for finding in report.findings {
                    let severity = TextFormat.padded(finding.severity.rawValue.uppercased(), 8)
                    print("  \(severity) +\(TextFormat.oneDecimal(finding.points / 10))  \(finding.title)" + (finding.origin.map { "  [\(TextFormat.relativeOrigins($0))]" } ?? ""))
                    print("           why: \(finding.why)")
                    print("           fix: \(finding.fix)")
                }
                print("")
            }
            for error in errors { StandardStream.error.write("confine: \(error)\n") }
        }

        /// SARIF 2.1.0 (OASIS): one run of the tool `confine audit`; one rule per finding id (its
        /// title, why, fix and default level), one result per finding with its level, message
        /// and location (the policy file and line; a path under the current folder relative to
        /// it, as code scanning expects, else a file: URI); policies that cannot be read as
        /// tool notifications with their file and line; each policy's exposure in the run's
        /// properties.
        func printSARIF(_ reports: [AuditReport], _ errors: [PolicyError]) {
            func level(_ severity: Severity) -> String {
                switch severity {
                case .critical, .high: "error"
                case .medium: "warning"
                case .low, .info: "note"
                }
            }
            let here = FileManager.default.currentDirectoryPath
            // a relative URI reference (RFC 3986): unreserved characters and '/' as they are,
            // every other byte as %XX ("my policies/a b.json" → "my%20policies/a%20b.json")
            func percentEncoded(_ path: String) -> String {
                let hex = Array("0123456789ABCDEF".utf8)
                var out: [UInt8] = []
                for byte in path.utf8 {
                    switch byte {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                         UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                        out.append(byte)
                    default:
                        out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                    }
                }
                return String(decoding: out, as: UTF8.self)
            }
            func location(_ origin: String?) -> [[String: Any]] {
                guard let origin else { return [] }
                var file = origin
                var line: Int?
                if let colon = origin.lastIndex(of: ":"), let number = Int(origin[origin.index(after: colon)...]) {
                    file = String(origin[..<colon])
                    line = number
                }
                let uri: String
                if file.hasPrefix(here + "/") {
                    uri = percentEncoded(String(file.dropFirst(here.count + 1)))
                } else if file.hasPrefix("/") {
                    uri = URL(fileURLWithPath: file).absoluteString
                } else {
                    uri = percentEncoded(file)
                }
                var physical: [String: Any] = ["artifactLocation": ["uri": uri]]
                if let line, line > 0 { physical["region"] = ["startLine": line] }
                return [["physicalLocation": physical]]
            }
            var rules: [[String: Any]] = []
            var ruleIndex: [String: Int] = [:]
            var results: [[String: Any]] = []
            for report in reports {
                for finding in report.findings {
                    if ruleIndex[finding.id] == nil {
                        ruleIndex[finding.id] = rules.count
                        rules.append([
                            "id": finding.id,
                            "name": finding.id.split(whereSeparator: { $0 == "." || $0 == "-" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(),
                            "shortDescription": ["text": finding.title],
                            "fullDescription": ["text": finding.why],
                            "help": ["text": "Why: \(finding.why). Fix: \(finding.fix)."],
                            "defaultConfiguration": ["level": level(finding.severity)],
                            "properties": ["points": finding.points, "severity": finding.severity.rawValue],
                        ])
                    }
                    var result: [String: Any] = [
                        "ruleId": finding.id, "ruleIndex": ruleIndex[finding.id] ?? 0, "level": level(finding.severity),
                        "message": ["text": "policy '\(report.policy)': \(finding.title). Fix: \(finding.fix)"],
                        "properties": ["policy": report.policy, "points": finding.points],
                    ]
                    let locations = location(finding.origin ?? report.file)
                    if !locations.isEmpty { result["locations"] = locations }
                    results.append(result)
                }
            }
            let notifications = errors.map { error -> [String: Any] in
                ["level": "error", "message": ["text": error.message.isEmpty ? "\(error)" : "\(error.path.isEmpty ? "" : error.path + ": ")\(error.message)"],
                 "locations": location(error.line.map { "\(error.file):\($0)" } ?? error.file)]
            }
            let run: [String: Any] = [
                "tool": ["driver": [
                    "name": "confine audit", "version": ConfineVersion.string, "semanticVersion": ConfineVersion.string,
                    "rules": rules,
                ]],
                "invocations": [["executionSuccessful": errors.isEmpty, "toolExecutionNotifications": notifications]],
                "results": results,
                "properties": ["exposures": reports.map { ["policy": $0.policy, "file": $0.file ?? "", "exposure": $0.exposure, "label": $0.label.rawValue] }],
            ]
            let document: [String: Any] = [
                "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run],
            ]
            StandardStream.output.write(JSONValue(any: document).text() + "\n")
        }

        func printJSON(_ reports: [AuditReport], _ errors: [PolicyError]) {
            let document: [String: Any] = [
                "schema": 1,
                "policies": reports.map { report -> [String: Any] in
                    [
                        "policy": report.policy, "file": report.file.map(JSONValue.string) ?? .null,
                        "exposure": report.exposure, "label": report.label.rawValue,
                        "findings": report.findings.map { f -> [String: Any] in
                            ["id": f.id, "severity": f.severity.rawValue, "points": f.points, "title": f.title,
                             "origin": f.origin.map(JSONValue.string) ?? .null, "why": f.why, "fix": f.fix]
                        },
                    ]
                },
                "errors": errors.map { e -> [String: Any] in
                    ["file": e.file, "line": e.line.map { JSONValue(any: $0) } ?? .null, "field": e.path, "message": e.message]
                },
            ]
            StandardStream.output.write(JSONValue(any: document).text() + "\n")
        }
    }
}
