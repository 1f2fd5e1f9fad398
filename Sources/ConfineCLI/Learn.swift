import ConfineCommandLine
import Dispatch
import ArgumentParser
import Confine
import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

extension ConfineCommand.PolicyCommand {
    struct Learn: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "learn",
            abstract: "Run a command, record every syscall its policy would refuse, and write the smallest policy that lets it pass.",
            usage: "confine policy learn [--base POLICY] [--name NAME] [-o FILE] -- CMD [ARG...]",
            discussion: """
                The learning run is supervised through seccomp user notification: each call the base \
                policy would refuse is recorded and allowed to go ahead, so the filter does not confine \
                that run (the uid, rlimits and timeout still do): learn only from trusted commands and \
                input. The learned policy is then checked by running the command again under it, with \
                stdin from /dev/null and its output discarded; calls that only the second run made are \
                added, up to three rounds. Exit status: 0 when the command passes under the learned \
                policy, 1 when it does not, 2 for bad usage.
                """
        )

        @Option(help: "Learn what this policy lacks, and include it (default: learn every syscall; limits from the shipped base).")
        var base: String?
        @Option(help: "The learned policy's name.") var name: String = "learned"
        @Option(name: .shortAndLong, help: "Write the policy here instead of to stdout (a regular file is replaced atomically; a device or FIFO is written in place).") var output: String?
        @Flag(help: "Leave the base's isolation (filesystem view, namespaces, cgroup caps) out of a standalone policy.")
        var withoutIsolation = false
        @Option(parsing: .unconditional, help: "Timeout for each run (default: the base policy's).") var timeout: String?
        @Argument(parsing: .captureForPassthrough, help: "The command, after --.") var command: [String] = []

        func run() throws {
            let argv = passthroughCommand(command, of: Self.self, named: "policy learn")
            guard !argv.isEmpty else { fail("no command given (usage: confine policy learn [--base P] -- CMD [ARG...])", status: 2) }
            let limitsPolicy = loadPolicy(base ?? "base")
            var runPolicy = limitsPolicy
            if base == nil { runPolicy.seccomp = SeccompProfile() }  // nothing allowed: every call is learned
            let limit = timeoutOption(timeout)
            let directory = FileManager.default.currentDirectoryPath
            let executor: Executor
            // As confine run will run it: in the working directory as its owner (what the command
            // sees there, and so the calls it makes, can differ).
            do { executor = try Executor(policy: runPolicy).writingAsWorkingDirectoryOwner() } catch { fail("\(error)", status: 2) }

            let learning = {
                var command = Command(argv, stdin: .inherit, stdout: .inherit, stderr: .inherit, workingDirectory: directory, timeout: limit)
                command.argumentBytes = commandBytes(argv)
                return command
            }()
            var learned: Set<String> = []
            var families: Set<UInt64> = []
            var firstStatus: Int32 = 0
            do {
                let (result, syscalls) = try blocking { try await executor.learn(learning) }
                learned.formUnion(syscalls)
                families.formUnion(result.refused.filter { $0.name == "socket" }.compactMap(\.arguments.first))
                firstStatus = result.returnCode
                if result.status == .timeout { fail("the learning run timed out; nothing written", status: 1) }
            } catch {
                fail("\(error)", status: (error as? ConfineError)?.exitStatus ?? 2)
            }

            let description = "Learned from `\(argv.joined(separator: " "))`" + (base.map { " on top of \($0)" } ?? "") + "."
            var text = ""
            var verified = false
            var lastRefusals: [RefusedCall] = []
            for _ in 0..<3 {
                do {
                    text = try LearnedPolicy.json(name: name, description: description, syscalls: learned.sorted(),
                                                  socketFamilies: families.sorted(), base: base, limits: limitsPolicy,
                                                  keepIsolation: !withoutIsolation)
                    let file = output ?? (directory + "/\(name).json")
                    let policy = try PolicyReader().parse(Array(text.utf8), file: file)
                    let check = try Executor(policy: policy).writingAsWorkingDirectoryOwner()
                    var again = Command(argv, stdin: .null, stdout: .discard, stderr: .discard, workingDirectory: directory, timeout: limit)
                    again.argumentBytes = learning.argumentBytes
                    let result = try check.execute(again)
                    lastRefusals = result.refused
                    if result.refused.isEmpty && result.returnCode == firstStatus { verified = true; break }
                    learned.formUnion(result.refused.map(\.name))
                    families.formUnion(result.refused.filter { $0.name == "socket" }.compactMap(\.arguments.first))
                } catch {
                    fail("checking the learned policy: \(error)", status: 1)
                }
            }
            if let output {
                do { try OutputFile.write(text, to: output) } catch { fail("-o \(error)", status: 2) }
            } else {
                StandardStream.output.write(text)
            }
            let kept = base.map { "it includes \($0), whose isolation applies: \(limitsPolicy.isolation.summary)" }
                ?? (withoutIsolation ? "no isolation (--without-isolation): only the syscall filter and limits confine it"
                    : "it keeps the isolation of base: \(limitsPolicy.isolation.summary) (--without-isolation leaves it out)")
            StandardStream.error.write("confine: \(kept)\n")
            let summary = "confine: learned \(learned.count) syscalls\(base.map { " beyond \($0)" } ?? ""): \(learned.sorted().joined(separator: " "))\n"
            StandardStream.error.write(summary)
            if verified {
                StandardStream.error.write("confine: verified: the command passes under the learned policy (exit \(firstStatus))\n")
            } else {
                StandardStream.error.write("confine: not verified: under the learned policy it was still refused \(lastRefusals.map(\.description).joined(separator: ", "))\n")
                Glibc.exit(1)
            }
        }
    }
}

/// Runs async work from a synchronous command and waits for it.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    guard let result = box.result else { throw CancellationError() }
    return try result.get()
}

final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
