import ArgumentParser
import Foundation

/// How `confine` and `confine-server` end on an error from ArgumentParser: a usage error is one
/// `confine:` line and status 2 (the README's exit statuses, not ArgumentParser's 64); help,
/// versions and other errors as ArgumentParser ends them.
public enum CommandLineExit {
    public static func exit(for error: any Error, of command: any ParsableCommand.Type) -> Never {
        if command.exitCode(for: error) == .validationFailure {
            let message = command.fullMessage(for: error).replacingOccurrences(of: "Error: ", with: "confine: ")
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(2)
        }
        command.exit(withError: error)
    }
}
