import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Finds the executable a command names, the way execvp(3) would in the child, and applies
/// the policy's command allow- and deny-lists to what will really run.
enum CommandResolver {
    /// The executable for `name`: a path (relative to `workingDirectory`) or a name looked up
    /// in `searchPath`.
    /// - Throws: `ConfineError` `.notFound` or `.permissionDenied`, naming the file.
    static func resolve(_ name: String, searchPath: String, workingDirectory: String?) throws -> String {
        if name.contains("/") {
            let path = name.hasPrefix("/") ? name : (workingDirectory ?? FileManager.default.currentDirectoryPath) + "/" + name
            switch check(path) {
            case 0: return path
            case EACCES: throw ConfineError(.permissionDenied, "Permission denied: \(PythonRepr.string(name)) is not executable", errno: EACCES, path: name)
            default: throw ConfineError(.notFound, "No such file or directory: \(PythonRepr.string(name))", errno: ENOENT, path: name)
            }
        }
        var sawDenied = false
        for directory in searchPath.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = directory.hasSuffix("/") ? "\(directory)\(name)" : "\(directory)/\(name)"
            switch check(candidate) {
            case 0: return candidate
            case EACCES: sawDenied = true
            default: continue
            }
        }
        if sawDenied {
            throw ConfineError(.permissionDenied, "Permission denied: \(PythonRepr.string(name)) is not executable", errno: EACCES, path: name)
        }
        throw ConfineError(.notFound, "No such file or directory: \(PythonRepr.string(name)) (not found in PATH \(searchPath))", errno: ENOENT, path: name)
    }

    /// 0 when `path` is an executable regular file, EACCES when it exists but is not, ENOENT otherwise.
    private static func check(_ path: String) -> Int32 {
        var info = stat()
        guard stat(path, &info) == 0 else { return ENOENT }
        guard info.st_mode & S_IFMT == S_IFREG else { return (info.st_mode & S_IFMT == S_IFDIR) ? EACCES : ENOENT }
        return info.st_mode & 0o111 != 0 && access(path, X_OK) == 0 ? 0 : EACCES
    }

    /// The canonical path (symlinks resolved) of an existing file.
    static func canonical(_ path: String) -> String {
        SystemCalls.realPath(path) ?? path
    }

}

/// A policy's command allow- and deny-lists, with absolute entries canonicalised once.
struct CommandMatcher: Sendable {
    let policy: Policy
    private let allowPaths: Set<String>, allowNames: [String]
    private let denyPaths: Set<String>, denyNames: [String]

    init(_ policy: Policy) {
        self.policy = policy
        func split(_ entries: [String]) -> (Set<String>, [String]) {
            let paths = entries.filter { $0.contains("/") }
            return (Set(paths + paths.map(CommandResolver.canonical)), entries.filter { !$0.contains("/") })
        }
        (allowPaths, allowNames) = split(policy.commands.allow)
        (denyPaths, denyNames) = split(policy.commands.deny)
    }

    /// Refuses the command when the policy's lists say so.
    /// - Parameter executable: the canonical path of what will run.
    /// - Throws: `ConfineError.refused` naming the list and the policy file.
    func enforce(executable: String, searchPath: String) throws {
        func named(_ names: [String]) -> String? {
            names.first { name in
                guard let found = try? CommandResolver.resolve(name, searchPath: searchPath, workingDirectory: "/") else { return false }
                return CommandResolver.canonical(found) == executable
            }
        }
        let rule = policy.commands
        let source = policy.source.map { " (\($0))" } ?? ""
        if denyPaths.contains(executable) || named(denyNames) != nil {
            let entry = rule.deny.first { denyPaths.contains($0) && CommandResolver.canonical($0) == executable } ?? named(denyNames) ?? executable
            throw ConfineError(.refused, "refused by policy '\(policy.name)'\(source): commands.deny lists '\(entry)', which is \(executable)", path: executable)
        }
        if !rule.allow.isEmpty && !allowPaths.contains(executable) && named(allowNames) == nil {
            throw ConfineError(.refused, "refused by policy '\(policy.name)'\(source): \(executable) is not in commands.allow (\(rule.allow.joined(separator: ", ")))", path: executable)
        }
    }
}
