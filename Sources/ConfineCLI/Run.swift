import ConfineCommandLine
import ArgumentParser
import Confine
import ConfinePolicy
import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

extension ConfineCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            // parsed on its own by `ConfineCommand.main` (swift-argument-parser's super-command:
            // no completion-script probe, and its help still says `confine run`)
            _superCommandName: "confine",
            abstract: "Run a command under a policy, passing its output through unchanged.",
            usage: "confine run [--policy NAME|FILE] [--timeout S] [--cwd DIR] [--env K=V]... [--ro PATH]... [--rw PATH]... [--json] [--quiet] -- CMD [ARG...]"
        )

        // PolicyOption's option, declared here rather than as an @OptionGroup: a group is one
        // more type for swift-argument-parser to reflect on every run (~0.3 ms)
        @Option(name: .long, help: PolicyOption.help)
        var policy: String = "default"

        @Option(parsing: .unconditional, help: "Kill the command's whole process tree after this long (seconds, or 500ms, 2m). The policy's timeout still applies if shorter.")
        var timeout: String?

        @Option(name: .customLong("cwd"), help: "The working directory (default: the current one, or the policy's).")
        var workingDirectory: String?

        @Option(name: .customLong("env"), help: "Set K=V in the command's environment, on top of the policy's. Repeatable.")
        var environment: [String] = []

        @Option(name: .customLong("ro"), help: ArgumentHelp("Add a file or folder to the command's view, readable, for this run. Repeatable; the policy must allow grants (isolation.filesystem.grants) and admit the path (workingDirectories).", valueName: "path"))
        var readOnly: [String] = []

        @Option(name: .customLong("rw"), help: ArgumentHelp("Add a file or folder to the command's view, writable, for this run (written as its owner, like the working directory). Repeatable; the policy must allow readWrite grants.", valueName: "path"))
        var readWrite: [String] = []

        @Flag(help: "Capture the output and print one JSON result record instead.")
        var json = false

        @Flag(name: [.customShort("q"), .long], help: "Print no warnings (the parts of the isolation this host cannot give, a folder not written as its owner); errors still print. CONFINE_QUIET=1 in the environment does the same for every run.")
        var quiet = false

        @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, after --.")
        var command: [String] = []

        mutating func run() throws {
            if quiet { warningsSilenced = true }
            command = passthroughCommand(command, of: Self.self, named: "run")
            guard !command.isEmpty else { fail("no command given (usage: confine run [OPTIONS] -- CMD [ARG...])", status: 2) }
            let policy = loadPolicy(self.policy, keepingParsed: true)

            var environment = policy.environment
            for entry in self.environment {
                guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                    fail("--env '\(entry)' is not K=V", status: 2)
                }
                environment[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
            }
            let limit = timeoutOption(timeout)
            let directory = workingDirectory ?? policy.workingDirectory ?? FileManager.default.currentDirectoryPath

            // The caller's own folder: the command writes there as its owner (a leased uid, as
            // root). Not one reached through a symbolic link: a command could have planted that
            // link to send a later run into another folder of the owner's.
            let link = Self.symbolicLinkOnTheWay(to: workingDirectory ?? policy.workingDirectory)
            let executor: Executor
            do {
                let plain = try Executor(policy: policy, oneShot: true, cacheCompiledFilters: true)
                executor = link == nil ? try plain.writingAsWorkingDirectoryOwner() : plain
            } catch {
                fail("\(error)", status: (error as? ConfineError)?.exitStatus ?? 2)
            }
            // Grants for this run, each checked against the policy (a path given twice: the wider access).
            var grants: [String: Isolation.Access] = [:]
            do {
                for path in readOnly where grants[path] == nil {
                    grants[try FilesystemGrants.admit(path, .readOnly, policy: policy, source: "--ro")] = .readOnly
                }
                for path in readWrite { grants[try FilesystemGrants.admit(path, .readWrite, policy: policy, source: "--rw")] = .readWrite }
            } catch let error as ConfineError {
                fail(error.description, status: error.exitStatus)
            } catch {
                fail("\(error)", status: 2)
            }
            var warnings = executor.warnings + executor.warnings(forWorkingDirectory: directory, grants: grants)
            for (path, access) in grants.sorted(by: { $0.key < $1.key }) where access == .readWrite {
                warnings += executor.warnings(forReadWriteGrant: path)
            }
            for warning in warnings { warn(warning) }
            if let link, geteuid() == 0, policy.user == .automatic, policy.isolation.filesystem?.workingDirectory == .readWrite {
                let own = SystemCalls.realPath(directory).map { " (\($0))" } ?? ""
                warn("the working directory was reached by another path than its own (\(link), a symbolic link or a $PWD naming another folder), so it is not mounted as the command's own: the command writes there only as its permissions allow; run from the folder's own path\(own)")
            }
            var request = Command(
                command, stdin: .inherit, stdout: json ? .pipe : .inherit, stderr: json ? .pipe : .inherit,
                environment: environment, workingDirectory: directory, timeout: limit)
            // Arguments that are not UTF-8 reach the command byte for byte.
            request.argumentBytes = commandBytes(command)
            // So do values of --env (K=V, split at the first '=').
            if let raw = environmentBytes(self.environment) {
                var given: [[UInt8]: [UInt8]] = [:]
                for entry in raw {
                    guard let equals = entry.firstIndex(of: 0x3D) else { continue }
                    given[Array(entry[..<equals])] = Array(entry[(equals + 1)...])
                }
                request.environmentBytes = Command.environmentBytes(policy.environment, overriddenBy: given)
            }
            request.filesystemGrants = grants
            // SIGTERM, SIGINT or SIGHUP to confine: the command's tree is killed and its lease
            // (uid, private home, cgroup) given back before confine exits 128+N, as a shell
            // reports a command ended by that signal.
            request.cancellationIsResult = true
            let cancellation = Executor.Cancellation()
            let stop = StopSignals(cancellation)
            let result: CompletedProcess
            do {
                result = try executor.execute(request, cancellation: cancellation)
            } catch let error as ConfineError {
                if json { printRecord(ResultRecord(command: command, policy: policy.name, error: error)) }
                fail(error.description, status: error.exitStatus)
            } catch {
                fail("\(error)", status: 2)
            }
            if json { printRecord(ResultRecord(result)) }
            if let signal = stop.received {
                if !json {
                    StandardStream.error.write("confine: stopped by \(StopSignals.name(signal)); the command's process tree was killed\n")
                }
                Glibc.exit(128 + signal)
            }
            if json {
                // the record says it all
            } else if result.status == .memoryLimit {
                let cap = policy.isolation.memory.map { " (\(Quantity.format(bytes: $0)))" } ?? ""
                StandardStream.error.write("confine: the command went over the memory limit of policy '\(policy.name)'\(cap); the kernel's OOM killer ended it\n")
            } else if result.status == .timeout {
                // --timeout only shortens the policy's: say so when the policy's was the one
                var shorter = ""
                if let limit, let effective = result.timeout, effective < limit {
                    shorter = " (the timeout of policy '\(policy.name)'; --timeout \(Quantity.format(limit)) cannot lengthen it)"
                }
                let message = "confine: timed out after \(result.timeout.map(Quantity.format) ?? "?")\(shorter); the process tree was killed\n"
                StandardStream.error.write(message)
            } else if result.status != .ok, let first = result.refused.first {
                // A failure after a refused call: most likely the refusal's doing, so name it.
                let more = result.refused.count > 1 ? " and \(result.refused.count - 1) more (--json lists them)" : ""
                let message = "confine: policy '\(policy.name)' refused \(first)\(more)\n"
                StandardStream.error.write(message)
            }
            Glibc.exit(Self.exitStatus(of: result))
        }

        /// The path by which the working directory was reached, when a symbolic link lies on it:
        /// `--cwd` (or the policy's) as given, else the shell's `$PWD` when it names the current
        /// directory by another path than its own. Nil when the path is the folder's own.
        static func symbolicLinkOnTheWay(to given: String?) -> String? {
            if let given {
                // made absolute against the current directory, `.` and `..` resolved as text
                let absolute = PolicyReader.standardized(given)
                guard let resolved = SystemCalls.realPath(absolute) else { return nil }
                return resolved == absolute ? nil : given
            }
            // A $PWD that names another path than the folder's own, whether through a link or
            // (stale, or changed under us) to another folder altogether: not trusted (fail closed).
            guard let value = getenv("PWD"), case let shell = String(cString: value), shell.hasPrefix("/") else { return nil }
            return PolicyReader.standardized(shell) == FileManager.default.currentDirectoryPath ? nil : shell
        }

        static func exitStatus(of result: CompletedProcess) -> Int32 {
            switch result.status {
            case .timeout: 124
            case .signal: 128 + (result.signal ?? 0)
            case .memoryLimit: result.signal.map { 128 + $0 } ?? result.returnCode
            default: result.returnCode
            }
        }

        func printRecord(_ record: ResultRecord) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            guard let data = try? encoder.encode(record) else { return }
            StandardStream.output.write([UInt8](data) + [0x0a])
        }
    }
}

/// SIGTERM, SIGINT and SIGHUP, caught while a command runs: each cancels it (its tree killed)
/// instead of ending confine before it gives the command's lease back.
final class StopSignals: @unchecked Sendable {
    static let caught: [Int32] = [SIGTERM, SIGINT, SIGHUP]
    private var sources: [DispatchSourceSignal] = []
    private let lock = DispatchQueue(label: "confine.stop")
    private var first: Int32?

    /// The first signal received, if any.
    var received: Int32? { lock.sync { first } }

    init(_ cancellation: Executor.Cancellation) {
        for number in Self.caught {
            // dispatch's sources need the default action off; a command's own dispositions are
            // reset to the defaults before it starts
            Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                self?.lock.sync { if self?.first == nil { self?.first = number } }
                cancellation.cancel()
            }
            source.resume()
            sources.append(source)
        }
    }

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }
}
