import CConfineProtocol
#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which one, and its errno.
struct SystemCallError: Error, CustomStringConvertible {
    var call: String
    var errno: Int32
    var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// Every raw system call the executor makes passes through here; EINTR is retried here,
/// once, for everyone.
package enum SystemCalls {
    /// realpath(3): the path with symlinks, `.` and `..` resolved, or nil (errno set).
    package static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The whole of a small file (a /proc or /sys one) read with open(2) and read(2), or nil when
    /// it cannot be opened or read, or holds more than `limit` bytes. Cheaper at start-up than
    /// Foundation's `String(contentsOfFile:)`, which `confine run` would pay for on every run.
    package static func contents(of path: String, limit: Int = 1 << 20) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0) }
            if n < 0 { return nil }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
            if bytes.count > limit { return nil }
        }
    }

    /// pipe2(2) with O_CLOEXEC: (read end, write end).
    static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard CConfine_pipe2(&fds, O_CLOEXEC) == 0 else { throw SystemCallError(call: "pipe2", errno: errno) }
        return (fds[0], fds[1])
    }

    /// socketpair(2) AF_UNIX SOCK_SEQPACKET with SOCK_CLOEXEC.
    static func seqpacketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw SystemCallError(call: "socketpair", errno: errno)
        }
        return (fds[0], fds[1])
    }

    /// open(2) of /dev/null, close-on-exec.
    static func openNull(write: Bool) throws -> Int32 {
        let fd = open("/dev/null", (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError(call: "open /dev/null", errno: errno) }
        return fd
    }

    static func close(_ fd: Int32) {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// fcntl(2) O_NONBLOCK.
    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// fcntl(2) F_SETPIPE_SZ: a larger pipe means fewer wake-ups for large outputs.
    static func growPipe(_ fd: Int32, to bytes: Int32) {
        _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, bytes)
    }

    /// read(2), EINTR retried; -1 with errno set on failure.
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }

    /// write(2), EINTR retried; -1 with errno set on failure.
    static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int {
        while true {
            let n = Glibc.write(fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }

    /// Writes every byte of `bytes` (short writes continued, EINTR retried); false with errno set
    /// when write(2) fails.
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// recv(2) of one datagram, EINTR retried.
    static func receive(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }

    /// send(2) with MSG_NOSIGNAL, EINTR retried.
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { buffer in
            while true {
                let n = Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                return n
            }
        }
    }

    /// sendmsg(2) of one datagram carrying `fds` as SCM_RIGHTS.
    static func send(_ socket: Int32, _ payload: [UInt8], fds: [Int32]) throws {
        let controlLength = Int(cmsgSpace(fds.count * MemoryLayout<Int32>.size))
        var control = [UInt8](repeating: 0, count: controlLength)
        var payload = payload
        let rc: Int = payload.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { controlBuffer in
                var iov = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &iov) { iovPointer in
                    var message = msghdr()
                    message.msg_iov = iovPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBuffer.baseAddress
                    message.msg_controllen = controlBuffer.count
                    let header = controlBuffer.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
                    header.pointee.cmsg_level = SOL_SOCKET
                    header.pointee.cmsg_type = Int32(SCM_RIGHTS)
                    header.pointee.cmsg_len = Int(cmsgLength(fds.count * MemoryLayout<Int32>.size))
                    let fdStart = controlBuffer.baseAddress!.advanced(by: Int(cmsgLength(0)))
                    for (i, fd) in fds.enumerated() {
                        fdStart.storeBytes(of: fd, toByteOffset: i * 4, as: Int32.self)
                    }
                    while true {
                        let n = sendmsg(socket, &message, Int32(MSG_NOSIGNAL))
                        if n < 0 && errno == EINTR { continue }
                        return n
                    }
                }
            }
        }
        guard rc >= 0 else { throw SystemCallError(call: "sendmsg", errno: errno) }
    }

    static func cmsgLength(_ n: Int) -> Int { cmsgAlign(MemoryLayout<cmsghdr>.size) + n }
    static func cmsgSpace(_ n: Int) -> Int { cmsgAlign(MemoryLayout<cmsghdr>.size) + cmsgAlign(n) }
    static func cmsgAlign(_ n: Int) -> Int { (n + MemoryLayout<Int>.size - 1) & ~(MemoryLayout<Int>.size - 1) }

    /// memfd_create(2) holding `bytes`, for requests too large for one datagram.
    static func memfd(holding bytes: [UInt8]) throws -> Int32 {
        let fd = CConfine_memfd("confine-request")
        guard fd >= 0 else { throw SystemCallError(call: "memfd_create", errno: errno) }
        let written = bytes.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, UnsafeRawBufferPointer(rebasing: buffer[offset...]))
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        guard written else {
            let e = errno
            close(fd)
            throw SystemCallError(call: "write memfd", errno: e)
        }
        return fd
    }
}
