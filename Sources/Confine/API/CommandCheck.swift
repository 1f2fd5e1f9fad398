import ConfinePolicy

/// What `confine check` answers for a command: would the policy let it start, and why.
public enum CommandCheck {
    public struct Verdict: Sendable {
        /// The canonical path that would run.
        public var executable: String
        /// Which part of the policy admits it.
        public var reason: String
    }

    /// - Throws: `ConfineError` `.refused`, `.notFound`, `.permissionDenied` or `.invalidArgument`.
    public static func check(_ arguments: [String], policy: Policy, environment: [String: String]? = nil) throws -> Verdict {
        try Executor.validate(Command(arguments, environment: environment))
        let searchPath = (environment ?? policy.environment)["PATH"] ?? "/usr/bin:/bin"
        let found = try CommandResolver.resolve(arguments[0], searchPath: searchPath, workingDirectory: policy.workingDirectory)
        let executable = CommandResolver.canonical(found)
        try CommandMatcher(policy).enforce(executable: executable, searchPath: searchPath)
        let reason = policy.commands.allow.isEmpty
            ? "the policy has no command allow-list and does not deny it"
            : "listed in commands.allow"
        return Verdict(executable: executable, reason: reason)
    }
}
