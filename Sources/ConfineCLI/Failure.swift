import Confine
import ConfineCommandLine
import ConfinePolicy
#if canImport(Glibc)
import Glibc
#endif

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

