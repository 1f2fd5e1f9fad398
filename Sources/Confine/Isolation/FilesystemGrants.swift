import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Paths a caller adds to a command's view for one run (`confine run --ro PATH --rw PATH`, a
/// function's `grants` in functions.json), checked against the policy before they reach
/// `Command.filesystemGrants` (which trusts what it is given).
///
/// A grant is admitted when the path exists (a `readWrite` one by its own path, no symbolic
/// link on the way), the access asked is no more than the policy's
/// `isolation.filesystem.grants`, and the path, with symbolic links and `..` resolved, is one
/// the policy's `workingDirectories` rules admit: the same rules that keep system trees
/// (`/etc`, `/proc`, `/usr`...), homes and `/tmp` themselves, and dot-folders such as `~/.ssh`
/// out of the view. The canonical path is what is granted; the launcher opens it again
/// without following links, so a link swapped in afterwards cannot redirect it.
public enum FilesystemGrants {
    /// The canonical path to grant for `path` with `access`.
    /// - Parameter source: how the caller named the grant (`--rw`, `functions.f.grants.readWrite[0]`), for messages.
    /// - Throws: `ConfineError` `.invalidArgument` (no such path, a relative path), `.grantNotAdmitted`
    ///   (beyond the policy's `grants`, refused by its rules, or a policy with no filesystem view).
    public static func admit(_ path: String, _ access: Isolation.Access, policy: Policy, source: String) throws -> String {
        guard access != .none else { throw ConfineError(.invalidArgument, "\(source) \(path): a grant is readOnly or readWrite") }
        guard let canonical = SystemCalls.realPath(path) else {
            let e = errno
            throw ConfineError(.invalidArgument, "\(source) \(PythonRepr.string(path)): \(ConfineError.errnoText(e)) (a grant names a file or folder that exists)",
                               errno: e, path: path)
        }
        let shown = canonical == path ? PythonRepr.string(path) : "\(PythonRepr.string(path)) (\(canonical))"
        guard let filesystem = policy.isolation.filesystem else {
            throw ConfineError(.grantNotAdmitted, "\(source) \(shown): policy '\(policy.name)' has no filesystem view (isolation.filesystem), so the command already sees what its uid may; nothing to grant", path: canonical)
        }
        let rank: [Isolation.Access: Int] = [.none: 0, .readOnly: 1, .readWrite: 2]
        guard rank[access, default: 2] <= rank[filesystem.grants, default: 0] else {
            let origin = policy.origin(of: "isolation.filesystem.grants").map { "; \($0)" } ?? ""
            let allowed = filesystem.grants == .none ? "grants no path for one run" : "grants paths \(filesystem.grants.rawValue) at most"
            throw ConfineError(.grantNotAdmitted, "\(source) \(shown): policy '\(policy.name)' \(allowed) (isolation.filesystem.grants\(origin))", path: canonical)
        }
        let decision = WorkingDirectoryRules.decide(canonical, rules: filesystem.workingDirectories)
        guard decision.admitted else {
            let field = "isolation.filesystem.workingDirectories"
            let origin = WorkingDirectoryCheck.rulesOrigin(policy)
            let why = decision.rule.map { "its rule '\($0)' refuses it" } ?? "none of its rules admits it"
            throw ConfineError(.grantNotAdmitted,
                               "\(source) \(shown): policy '\(policy.name)' does not admit it: \(why) (\(field)\(origin)); grant a file or folder of a project (such as /srv/APP/data, /home/NAME/PROJECT or /tmp/DIR), not a system tree, a home or a dot-folder",
                               path: canonical)
        }
        // A writable grant may be mounted as the command's own (as its owner): not through a
        // link, which whoever owns the folder it lies in could point at another folder.
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let given = URL(fileURLWithPath: absolute).standardized.path
        if access == .readWrite, given != canonical {
            throw ConfineError(.grantNotAdmitted, "\(source) \(PythonRepr.string(path)) is reached through a symbolic link (it resolves to \(canonical)): give the folder's own path (a writable grant acts as the folder's owner, and a link on the way could be pointed elsewhere)", path: canonical)
        }
        if access == .readWrite, let listed = filesystem.readOnly.first(where: { WorkingDirectoryRules.isWithin(canonical, WorkingDirectoryCheck.canonical($0)) }) {
            let origin = policy.origin(of: "isolation.filesystem.readOnly").map { "; \($0)" } ?? ""
            throw ConfineError(.grantNotAdmitted, "\(source) \(shown): it lies in \(listed), which policy '\(policy.name)' lists readOnly (isolation.filesystem.readOnly\(origin)); grant it --ro", path: canonical)
        }
        return canonical
    }
}
