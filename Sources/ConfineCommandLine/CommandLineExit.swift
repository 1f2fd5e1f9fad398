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
