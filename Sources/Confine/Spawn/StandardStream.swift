#if canImport(Glibc)
import Glibc
#endif

/// stdout and stderr as write(2) on descriptors 1 and 2, every byte written
/// (`SystemCalls.writeAll`). Foundation's FileHandle does the same but is not in FoundationEssentials.
package enum StandardStream {
    case output, error

    package var descriptor: Int32 { self == .output ? 1 : 2 }

    package func write(_ text: String) {
        write(Array(text.utf8))
    }

    package func write(_ bytes: [UInt8]) {
        _ = SystemCalls.writeAll(descriptor, bytes)
    }

    /// Everything on stdin, to its end.
    package static func readInput() -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { SystemCalls.read(0, $0) }
            if n <= 0 { return bytes }
            bytes += buffer[0..<n]
        }
    }
}
