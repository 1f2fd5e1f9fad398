import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP socket bound to a free port of the host's 127.0.0.1.
enum Loopback {
    /// The socket (the caller closes it) and its port; the socket is -1 when none could be bound.
    static func bound() -> (socket: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, ok else {
            if fd >= 0 { close(fd) }
            return (-1, 0)
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
