import ConfineCommandLine
import ArgumentParser
import Confine
import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

extension ConfineCommand {
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "doctor",
            abstract: "Say what this host offers Confine and what each policy gets here.",
            discussion: """
                Checks seccomp user notification, Landlock (ABI and scopes), namespaces (as root, or \
                through user namespaces), cgroups, and (as root) idmapped mounts for the working \
                directory; then, for every policy in the search path, the parts of its isolation it \
                would run without. Each missing part comes with how to get it. Exit status: 0, or 1 \
                when a policy marked "required": true would not start here; 2 for bad usage.
                """
        )

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        @Option(name: .customLong("cwd"), help: "The folder asked about idmapped mounts (default: the current one).")
        var workingDirectory: String?

        func run() throws {
            let directory = workingDirectory ?? FileManager.default.currentDirectoryPath
            let report = HostReport.probe(workingDirectory: directory)
            var fits: [HostReport.PolicyFit] = []
            let reader = PolicyReader()
            var seen = Set<String>()
            for folder in reader.searchPaths {
                let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
                for file in files where seen.insert(String(file.dropLast(5))).inserted {
                    guard let policy = try? reader.load(folder + "/" + file) else { continue }
                    fits.append(HostReport.fit(policy))
                }
            }
            let failing = fits.filter(\.wouldFail)
            if json {
                let object: [String: Any] = [
                    "kernel": report.kernel, "root": report.root,
                    "parts": report.parts.map { part -> [String: Any] in
                        var entry: [String: Any] = ["id": part.id, "available": part.available, "detail": part.detail]
                        if let fix = part.fix { entry["fix"] = fix }
                        return entry
                    },
                    "policies": fits.map { fit -> [String: Any] in
                        var entry: [String: Any] = ["name": fit.name, "required": fit.required, "missing": fit.missing, "wouldFail": fit.wouldFail]
                        if let file = fit.file { entry["file"] = file }
                        if let error = fit.error { entry["error"] = error }
                        return entry
                    },
                ]
                print(JSONValue(any: object).text(pretty: true))
            } else {
                print("host: Linux \(report.kernel), Confine \(report.root ? "as root (commands under leased uids)" : "as uid \(getuid()) (commands under this uid)")")
                for part in report.parts {
                    print("  \(part.available ? "ok     " : "missing") \(TextFormat.padded(part.id, 15)) \(part.detail)")
                    if let fix = part.fix { print("          \(String(repeating: " ", count: 15)) fix: \(fix)") }
                }
                print("policies:")
                for fit in fits {
                    let state = fit.wouldFail ? "FAILS  " : fit.missing.isEmpty ? "full   " : "partial"
                    print("  \(state) \(TextFormat.padded(fit.name, 10)) \(fit.wouldFail ? (fit.error ?? "") : fit.missing.isEmpty ? "every part of its isolation" : "without: " + fit.missing.joined(separator: "; "))")
                }
                if !failing.isEmpty {
                    print("\(failing.count) polic\(failing.count == 1 ? "y" : "ies") marked required would not start here: \(failing.map(\.name).joined(separator: ", "))")
                }
            }
            if !failing.isEmpty { throw ExitCode(1) }
        }
    }
}
