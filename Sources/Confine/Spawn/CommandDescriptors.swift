#if canImport(Glibc)
import Glibc
#endif

/// The descriptors of one command: the status channel to its monitor and its standard streams,
/// as the launcher receives them (`child`) and as the executor keeps them (`status`, `stdin`,
/// `stdout`, `stderr`: the parent's ends, nil where nothing is captured or fed).
///
/// Descriptors opened only for the child are closed by `closeChildEnds()` once the request is
/// sent; if the request is never sent, `closeParentEnds()` closes the executor's ends too.
struct CommandDescriptors {
    /// Status socket, stdin, stdout, stderr, in the order the launcher expects them.
    private(set) var child: [Int32] = []
    /// The executor's end of the status channel (SOCK_SEQPACKET).
    private(set) var status: Int32 = -1
    /// The pipe the executor writes `input` into; nil when stdin is not `.bytes`.
    private(set) var stdin: Int32?
    private(set) var stdout: Int32?
    private(set) var stderr: Int32?
    /// The bytes to feed stdin (`.bytes`).
    private(set) var input: [UInt8] = []
    private var childOnly: [Int32] = []

    /// Opens the status channel and the pipes or `/dev/null` each stream asks for.
    /// - Throws: `SystemCallError` when a pipe, socket or `/dev/null` cannot be opened; nothing
    ///   opened stays open.
    init(for command: Command) throws {
        do {
            let (statusParent, statusChild) = try SystemCalls.seqpacketPair()
            status = statusParent
            childOnly.append(statusChild)
            let input = try openInput(command.stdin)
            let out = try openOutput(command.stdout, standard: 1)
            stdout = out.parent
            var err: (child: Int32, parent: Int32?)
            if command.stderr == .stdout {
                err = (out.child, nil)
            } else {
                err = try openOutput(command.stderr, standard: 2)
            }
            stderr = err.parent
            child = [statusChild, input, out.child, err.child]
        } catch {
            closeChildEnds()
            closeParentEnds()
            throw error
        }
    }

    /// Closes what was opened only for the child; the launcher holds its own copies once sent.
    func closeChildEnds() {
        childOnly.forEach(SystemCalls.close)
    }

    /// Closes the executor's ends, for a request that was never sent.
    func closeParentEnds() {
        ([status, stdin, stdout, stderr].compactMap { $0 }).forEach(SystemCalls.close)
    }

    private mutating func openInput(_ source: InputSource) throws -> Int32 {
        switch source {
        case .inherit where fcntl(0, F_GETFD) >= 0: return 0
        case .fileDescriptor(let fd): return fd
        case .inherit, .null:
            let fd = try SystemCalls.openNull(write: false)
            childOnly.append(fd)
            return fd
        case .bytes(let bytes):
            let pipe = try SystemCalls.pipe()
            childOnly.append(pipe.read)
            stdin = pipe.write
            input = bytes
            return pipe.read
        }
    }

    private mutating func openOutput(_ destination: OutputDestination, standard: Int32) throws -> (child: Int32, parent: Int32?) {
        switch destination {
        case .inherit where fcntl(standard, F_GETFD) >= 0: return (standard, nil)
        case .fileDescriptor(let fd): return (fd, nil)
        case .inherit, .discard, .stdout:
            let fd = try SystemCalls.openNull(write: true)
            childOnly.append(fd)
            return (fd, nil)
        case .pipe:
            let pipe = try SystemCalls.pipe()
            SystemCalls.growPipe(pipe.read, to: 1 << 20)
            childOnly.append(pipe.write)
            return (pipe.write, pipe.read)
        }
    }
}
