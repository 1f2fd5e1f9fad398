import ConfinePolicy

/// CPython's `subprocess` functions, confined: same arguments, same results, same errors.
extension Executor {
    static func command(
        _ args: [String], input: [UInt8]?, stdin: InputSource?, stdout: OutputDestination, stderr: OutputDestination,
        timeout: Duration?, environment: [String: String]?, workingDirectory: String?, policy: Policy?
    ) throws -> Command {
        if input != nil, let stdin, stdin != .inherit {
            throw ConfineError(.invalidArgument, "stdin and input arguments may not both be used.")
        }
        return Command(
            args, stdin: input.map(InputSource.bytes) ?? stdin ?? .inherit, stdout: stdout, stderr: stderr,
            environment: environment, workingDirectory: workingDirectory, timeout: timeout, policy: policy)
    }

    /// Turns a timeout outcome into `TimeoutExpired`, as Python's `run`, `call` and `check_*` do.
    static func raiseTimeout(_ result: CompletedProcess) throws -> CompletedProcess {
        if result.status == .timeout {
            throw TimeoutExpired(cmd: result.args, timeout: result.timeout?.seconds ?? 0, output: result.stdout, stderr: result.stderr, completed: result)
        }
        return result
    }

    /// Runs a command and returns its `CompletedProcess` (`subprocess.run`).
    /// - Parameters:
    ///   - input: bytes for its standard input, then end of file.
    ///   - captureOutput: capture both stdout and stderr.
    ///   - check: throw `CalledProcessError` for a non-zero exit or a signal.
    ///   - timeout: kill the whole process tree after this long.
    ///   - environment: the whole environment (default: the policy's).
    /// - Throws: `TimeoutExpired`; `CalledProcessError` with `check`; `ConfineError` when it cannot start.
    public func run(
        _ args: [String], input: [UInt8]? = nil, stdin: InputSource? = nil,
        stdout: OutputDestination = .inherit, stderr: OutputDestination = .inherit, captureOutput: Bool = false,
        check: Bool = false, timeout: Duration? = nil, environment: [String: String]? = nil,
        workingDirectory: String? = nil, policy: Policy? = nil
    ) async throws -> CompletedProcess {
        let command = try Self.command(args, input: input, stdin: stdin, stdout: captureOutput ? .pipe : stdout,
                                       stderr: captureOutput ? .pipe : stderr, timeout: timeout, environment: environment,
                                       workingDirectory: workingDirectory, policy: policy)
        let result = try Self.raiseTimeout(try await execute(command))
        if check { try result.checkReturnCode() }
        return result
    }

    /// Runs a command and returns its return code (`subprocess.call`).
    /// - Throws: `TimeoutExpired`, or `ConfineError` when it cannot start.
    public func call(
        _ args: [String], input: [UInt8]? = nil, stdin: InputSource? = nil,
        stdout: OutputDestination = .inherit, stderr: OutputDestination = .inherit,
        timeout: Duration? = nil, environment: [String: String]? = nil, workingDirectory: String? = nil, policy: Policy? = nil
    ) async throws -> Int32 {
        try await run(args, input: input, stdin: stdin, stdout: stdout, stderr: stderr, timeout: timeout,
                      environment: environment, workingDirectory: workingDirectory, policy: policy).returnCode
    }

    /// Runs a command and throws unless it exits 0 (`subprocess.check_call`).
    /// - Throws: `CalledProcessError`, `TimeoutExpired`, `ConfineError`.
    public func checkCall(
        _ args: [String], input: [UInt8]? = nil, stdin: InputSource? = nil,
        stdout: OutputDestination = .inherit, stderr: OutputDestination = .inherit,
        timeout: Duration? = nil, environment: [String: String]? = nil, workingDirectory: String? = nil, policy: Policy? = nil
    ) async throws {
        _ = try await run(args, input: input, stdin: stdin, stdout: stdout, stderr: stderr, check: true, timeout: timeout,
                          environment: environment, workingDirectory: workingDirectory, policy: policy)
    }

    /// Runs a command and returns its stdout bytes (`subprocess.check_output`).
    /// - Throws: `CalledProcessError` (with the output) for a non-zero exit or a signal,
    ///   `TimeoutExpired` (with the partial output), `ConfineError` when it cannot start.
    public func checkOutput(
        _ args: [String], input: [UInt8]? = nil, stdin: InputSource? = nil, stderr: OutputDestination = .inherit,
        timeout: Duration? = nil, environment: [String: String]? = nil, workingDirectory: String? = nil, policy: Policy? = nil
    ) async throws -> [UInt8] {
        try await run(args, input: input, stdin: stdin, stdout: .pipe, stderr: stderr, check: true, timeout: timeout,
                      environment: environment, workingDirectory: workingDirectory, policy: policy).stdout ?? []
    }

    /// `run` with arguments as bytes (any but NUL), passed unchanged: for arguments that are
    /// not UTF-8, as Python's functions take the `bytes` of `os.fsencode` (see `Command.argumentBytes`).
    /// - Parameter environmentBytes: the whole environment as bytes (`Command.environmentBytes`),
    ///   in place of `environment`: Python's `env=` with `bytes` names and values.
    public func run(
        bytes args: [[UInt8]], input: [UInt8]? = nil, stdin: InputSource? = nil,
        stdout: OutputDestination = .inherit, stderr: OutputDestination = .inherit, captureOutput: Bool = false,
        check: Bool = false, timeout: Duration? = nil, environment: [String: String]? = nil,
        environmentBytes: [[UInt8]: [UInt8]]? = nil, workingDirectory: String? = nil, policy: Policy? = nil
    ) async throws -> CompletedProcess {
        var command = try Self.command(args.map { String(decoding: $0, as: UTF8.self) }, input: input, stdin: stdin,
                                       stdout: captureOutput ? .pipe : stdout, stderr: captureOutput ? .pipe : stderr,
                                       timeout: timeout, environment: environment, workingDirectory: workingDirectory, policy: policy)
        command.argumentBytes = args
        if let environmentBytes { command.environmentBytes = environmentBytes }
        let result = try Self.raiseTimeout(try await execute(command))
        if check { try result.checkReturnCode() }
        return result
    }

    /// `checkOutput` with arguments as bytes, passed unchanged (see `run(bytes:)`).
    /// - Throws: as `checkOutput`.
    public func checkOutput(
        bytes args: [[UInt8]], input: [UInt8]? = nil, stdin: InputSource? = nil, stderr: OutputDestination = .inherit,
        timeout: Duration? = nil, environment: [String: String]? = nil, environmentBytes: [[UInt8]: [UInt8]]? = nil,
        workingDirectory: String? = nil, policy: Policy? = nil
    ) async throws -> [UInt8] {
        try await run(bytes: args, input: input, stdin: stdin, stdout: .pipe, stderr: stderr, check: true, timeout: timeout,
                      environment: environment, environmentBytes: environmentBytes, workingDirectory: workingDirectory, policy: policy).stdout ?? []
    }

    // MARK: Blocking twins, for code outside Swift concurrency.

    /// The blocking form of `run`.
    public func run(
        _ args: [String], input: [UInt8]? = nil, stdin: InputSource? = nil,
        stdout: OutputDestination = .inherit, stderr: OutputDestination = .inherit, captureOutput: Bool = false,
        check: Bool = false, timeout: Duration? = nil, environment: [String: String]? = nil,
        workingDirectory: String? = nil, policy: Policy? = nil
    ) throws -> CompletedProcess {
        let command = try Self.command(args, input: input, stdin: stdin, stdout: captureOutput ? .pipe : stdout,
                                       stderr: captureOutput ? .pipe : stderr, timeout: timeout, environment: environment,
                                       workingDirectory: workingDirectory, policy: policy)
        let result = try Self.raiseTimeout(try execute(command))
        if check { try result.checkReturnCode() }
        return result
    }

    /// The blocking form of `call`.
    public func call(
        _ args: [String], input: [UInt8]? = nil, stdin: InputSource? = nil,
        stdout: OutputDestination = .inherit, stderr: OutputDestination = .inherit,
        timeout: Duration? = nil, environment: [String: String]? = nil, workingDirectory: String? = nil, policy: Policy? = nil
    ) throws -> Int32 {
        try run(args, input: input, stdin: stdin, stdout: stdout, stderr: stderr, timeout: timeout,
                environment: environment, workingDirectory: workingDirectory, policy: policy).returnCode
    }

    /// The blocking form of `checkCall`.
    public func checkCall(
        _ args: [String], input: [UInt8]? = nil, stdin: InputSource? = nil,
        stdout: OutputDestination = .inherit, stderr: OutputDestination = .inherit,
        timeout: Duration? = nil, environment: [String: String]? = nil, workingDirectory: String? = nil, policy: Policy? = nil
    ) throws {
        _ = try run(args, input: input, stdin: stdin, stdout: stdout, stderr: stderr, check: true, timeout: timeout,
                    environment: environment, workingDirectory: workingDirectory, policy: policy)
    }

    /// The blocking form of `checkOutput`.
    /// - Throws: `CalledProcessError`, `TimeoutExpired`, or `ConfineError` when the command cannot start.
    public func checkOutput(
        _ args: [String], input: [UInt8]? = nil, stdin: InputSource? = nil, stderr: OutputDestination = .inherit,
        timeout: Duration? = nil, environment: [String: String]? = nil, workingDirectory: String? = nil, policy: Policy? = nil
    ) throws -> [UInt8] {
        try run(args, input: input, stdin: stdin, stdout: .pipe, stderr: stderr, check: true, timeout: timeout,
                environment: environment, workingDirectory: workingDirectory, policy: policy).stdout ?? []
    }
}

/// `checkOutput(["ls", "-l"])` under the `default` policy: the command's stdout, bytes.
/// - Throws: `CalledProcessError` for a non-zero exit or a signal, `TimeoutExpired` (the tree
///   killed, the output so far kept), `ConfineError` when the command cannot start.
public func checkOutput(
    _ args: [String], input: [UInt8]? = nil, stderr: OutputDestination = .inherit, timeout: Duration? = nil,
    environment: [String: String]? = nil, workingDirectory: String? = nil, policy: Policy? = nil
) async throws -> [UInt8] {
    try await Executor.standard().checkOutput(args, input: input, stderr: stderr, timeout: timeout, environment: environment,
                                              workingDirectory: workingDirectory, policy: policy)
}

/// `run(["ls", "-l"], captureOutput: true)` under the `default` policy.
public func run(
    _ args: [String], input: [UInt8]? = nil, stdout: OutputDestination = .inherit, stderr: OutputDestination = .inherit,
    captureOutput: Bool = false, check: Bool = false, timeout: Duration? = nil, environment: [String: String]? = nil,
    workingDirectory: String? = nil, policy: Policy? = nil
) async throws -> CompletedProcess {
    try await Executor.standard().run(args, input: input, stdout: stdout, stderr: stderr, captureOutput: captureOutput, check: check,
                                      timeout: timeout, environment: environment, workingDirectory: workingDirectory, policy: policy)
}
