import ConfinePolicy

/// The environment and the starting folder of one command, and the decisions behind them:
/// whether `/tmp` is a private tmpfs of the command's own (as root, under a policy with
/// `isolation.filesystem.tmp`), and where HOME and TMPDIR point.
///
/// - HOME and TMPDIR, when the command's environment names none, are its private `/tmp` if it
///   has one, else a private HOME made for it (`CommandLease.acquireHome()`): a shared HOME lets
///   one command plant files (`~/.local` site-packages, shell rc files) that the next runs.
/// - A command with no folder of its own (`Command.privateWorkingDirectory`) starts in its
///   private `/tmp`, else in its private HOME: fresh, its own, emptied afterwards.
struct CommandEnvironment {
    /// `/tmp` (and `/dev/shm`) are a private tmpfs of the command's own.
    let privateTmp: Bool
    /// The command starts in a fresh private folder rather than one it or its policy named.
    let privateWorkingDirectory: Bool
    /// The variables, by name.
    private(set) var variables: [String: String]
    /// The command's own variables as bytes (`Command.environmentBytes`), when it gave them so.
    private let exact: [[UInt8]: [UInt8]]?
    /// The resolved folder the command starts in; nil until `adopt(home:)` for a command that
    /// gets a private HOME as its folder.
    private(set) var workingDirectory: String?

    /// - Parameters:
    ///   - workingDirectory: the admitted, resolved folder; nil for a fresh private folder.
    /// - Throws: `ConfineError(.workingDirectory)` for a folder under `/tmp` that the private
    ///   tmpfs would hide; `ConfineError(.invalidArgument)` for a relative program path with no
    ///   folder to be relative to.
    init(command: Command, policy: Policy, workingDirectory: String?) throws {
        privateTmp = IsolationSupport.namespaces && (policy.isolation.filesystem?.tmp != nil || (command.privateTmpSize ?? 0) > 0)
        privateWorkingDirectory = workingDirectory == nil
        variables = command.environment ?? policy.environment
        exact = command.environmentBytes
        self.workingDirectory = workingDirectory
        // (a folder shown through a mount is not where the host has it)
        if let directory = workingDirectory.map(command.shown), privateTmp,
           directory == "/tmp" || directory.hasPrefix("/tmp/") || directory.hasPrefix("/dev/shm") {
            throw ConfineError(.workingDirectory, "the working directory \(PythonRepr.string(directory)) is under /tmp or /dev/shm, which policy '\(policy.name)' replaces with a private tmpfs (isolation.filesystem.tmp): the command cannot see it", path: directory)
        }
        let program = command.arguments[0]
        if privateWorkingDirectory, !program.hasPrefix("/"), program.contains("/") {
            throw ConfineError(.invalidArgument, "the program \(PythonRepr.string(program)) is a relative path, but the command runs in a fresh private folder: give a name found in PATH or an absolute path", path: program)
        }
        if privateTmp {
            if privateWorkingDirectory { self.workingDirectory = "/tmp" }
            if variables["HOME"] == nil { variables["HOME"] = "/tmp" }
            if variables["TMPDIR"] == nil { variables["TMPDIR"] = "/tmp" }
        }
    }

    /// The PATH commands are looked up in: the environment's, else `/usr/bin:/bin`.
    var searchPath: String { variables["PATH"] ?? "/usr/bin:/bin" }

    /// The command needs a private HOME made for it: its environment names none, or it has no
    /// folder of its own and no private `/tmp` to start in.
    var needsHome: Bool { variables["HOME"] == nil || workingDirectory == nil }

    /// Points HOME and TMPDIR (where the environment names none) and a missing working
    /// directory at the command's private HOME.
    mutating func adopt(home: String) {
        if variables["HOME"] == nil { variables["HOME"] = home }
        if variables["TMPDIR"] == nil { variables["TMPDIR"] = home }
        if workingDirectory == nil { workingDirectory = CommandResolver.canonical(home) }
    }

    /// `NAME=value` entries sorted by name, as execve(2) takes them: the command's bytes as
    /// given, plus what was added here (HOME, TMPDIR) under names it did not give.
    var entries: [[UInt8]] {
        guard let exact else {
            return variables.sorted { $0.key < $1.key }.map { Array("\($0.key)=\($0.value)".utf8) }
        }
        let given = Set(exact.keys.map { String(decoding: $0, as: UTF8.self) })
        var all = exact
        for (name, value) in variables where !given.contains(name) { all[Array(name.utf8)] = Array(value.utf8) }
        return all.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { $0.key + [0x3D] + $0.value }
    }
}
