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

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

        @Option(help: "text for people, json for CI.")
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
                    print("  \(severity) +\(TextFormat.oneDecimal(finding.points / 10))  \(finding.title)" + (finding.origin.map { "  [\($0)]" } ?? ""))
                    print("           why: \(finding.why)")
                    print("           fix: \(finding.fix)")
                }
                print("")
            }
            for error in errors { StandardStream.error.write("confine: \(error)\n") }
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
