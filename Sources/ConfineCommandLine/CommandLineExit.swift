import ArgumentParser
import Confine
#if canImport(Glibc)
import Glibc
#endif

/// How `confine` and `confine-server` end on an error from ArgumentParser: a usage error is one
/// `confine:` line and status 2 (the README's exit statuses, not ArgumentParser's 64); help,
/// versions and other errors as ArgumentParser ends them.
public enum CommandLineExit {
    public static func exit(for error: any Error, of command: any ParsableCommand.Type) -> Never {
        if command.exitCode(for: error) == .validationFailure {
            var message = command.fullMessage(for: error)
            if message.hasPrefix("Error: ") { message = "confine: " + message.dropFirst(7) }
            StandardStream.error.write(message + "\n")
            Glibc.exit(2)
        }
        command.exit(withError: error)
    }
}

/// Ends the program with one `confine:` line on stderr and the given status.
public func fail(_ message: String, status: Int32) -> Never {
    StandardStream.error.write("confine: \(message)\n")
    Glibc.exit(status)
}

/// Warnings are not printed: `--quiet`, or `CONFINE_QUIET=1` in the environment (set once, in
/// a shell profile, by whoever has read them and accepts what they say).
nonisolated(unsafe) public var warningsSilenced: Bool = {
    guard let value = getenv("CONFINE_QUIET") else { return false }
    return String(cString: value) == "1"
}()

/// One `confine: warning:` line on stderr, unless warnings are silenced.
public func warn(_ message: String) {
    guard !warningsSilenced else { return }
    StandardStream.error.write("confine: warning: \(message)\n")
}

/// The command captured after a subcommand's options (`confine run [OPTIONS] -- CMD`): `--help`
/// or `-h` in its place prints the subcommand's help (exit 0), another leading option is a usage
/// error naming it (status 2), and a leading `--` is dropped.
public func passthroughCommand<C: ParsableCommand>(_ captured: [String], of command: C.Type, named path: String) -> [String] {
    guard let first = captured.first else { return [] }
    if first == "--help" || first == "-h" {
        print(command.helpMessage())
        Glibc.exit(0)
    }
    if first.hasPrefix("-"), first != "--" {
        fail("unknown option '\(first)' (see confine \(path) --help; the command goes after --)", status: 2)
    }
    return first == "--" ? Array(captured.dropFirst()) : captured
}
