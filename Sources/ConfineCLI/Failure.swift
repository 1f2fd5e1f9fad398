import Confine
import ConfineCommandLine
import ConfinePolicy
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// Loads a policy, or ends with status 2 and the file:line: field: message of the problem.
func loadPolicy(_ name: String) -> Policy {
    do {
        let policy = try PolicyReader().load(name)
        for warning in policy.warnings { warn(warning) }
        return policy
    } catch {
        fail("\(error)", status: 2)
    }
}


/// The command captured after a subcommand's options (`confine run [OPTIONS] -- CMD`): `--help`
/// or `-h` in its place prints the subcommand's help (exit 0), another leading option is a usage
/// error naming it (status 2), and a leading `--` is dropped.
func passthroughCommand<C: ParsableCommand>(_ captured: [String], of command: C.Type, named path: String) -> [String] {
    guard let first = captured.first else { return [] }
    if first == "--help" || first == "-h" {
        print(command.helpMessage())
        exit(0)
    }
    if first.hasPrefix("-"), first != "--" {
        fail("unknown option '\(first)' (see confine \(path) --help; the command goes after --)", status: 2)
    }
    return first == "--" ? Array(captured.dropFirst()) : captured
}

/// A `--timeout` value: nil when none was given; otherwise a positive duration, or a usage
/// error (status 2) that names the value and what is accepted.
func timeoutOption(_ text: String?) -> Duration? {
    guard let text else { return nil }
    if text.trimmingSpaces.hasPrefix("-") { fail("--timeout '\(text)' is negative (accepted: \(Quantity.acceptedDurations))", status: 2) }
    guard let parsed = Quantity.parseDuration(text) else {
        fail("--timeout '\(text)' is not a duration (accepted: \(Quantity.acceptedDurations))", status: 2)
    }
    guard parsed > .zero else { fail("--timeout '\(text)' must be more than 0 (accepted: \(Quantity.acceptedDurations))", status: 2) }
    return parsed
}
