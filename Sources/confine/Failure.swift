import Confine
import ConfinePolicy
#if canImport(Glibc)
import Glibc
#endif

/// Ends the CLI with one `confine:` line on stderr and the given status.
func fail(_ message: String, status: Int32) -> Never {
    var line = "confine: \(message)\n"
    line.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
    exit(status)
}

/// Loads a policy, or ends with status 2 and the file:line: field: message of the problem.
func loadPolicy(_ name: String) -> Policy {
    do {
        return try PolicyReader().load(name)
    } catch {
        fail("\(error)", status: 2)
    }
}
