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

/// One `confine: warning:` line on stderr.
public func warn(_ message: String) {
    StandardStream.error.write("confine: warning: \(message)\n")
}
