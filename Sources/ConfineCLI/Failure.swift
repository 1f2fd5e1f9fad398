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
        let policy = try PolicyReader().load(name)
        for warning in policy.warnings { warn(warning) }
        return policy
    } catch {
        fail("\(error)", status: 2)
    }
}

/// One `confine: warning:` line on stderr.
func warn(_ message: String) {
    var line = "confine: warning: \(message)\n"
    line.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
}
