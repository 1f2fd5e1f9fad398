import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Where a command starts, and whether its policy lets that folder into the command's view.
///
/// The working directory joins the filesystem view (`isolation.filesystem.workingDirectory`),
/// so whoever picks it could widen the view: `--cwd /` would show the whole machine. The folder
/// is therefore resolved first (`realpath(3)`: symlinks and `..` gone) and must be admitted by the
/// policy's `workingDirectories` rules, be the policy's own `workingDirectory`, or lie within a
/// path the embedding program granted (`Command.filesystemGrants`).
enum WorkingDirectoryCheck {
    /// The canonical working directory for `requested`.
    /// - Throws: `ConfineError` `.workingDirectory` (missing, not a folder),
    ///   `.workingDirectoryNotAdmitted` (outside what the policy admits).
    static func resolve(_ requested: String, policy: Policy, grants: [String: Isolation.Access]) throws -> String {
        guard let canonical = SystemCalls.realPath(requested) else {
            let e = errno
            throw ConfineError(.workingDirectory, "\(ConfineError.errnoText(e)): \(PythonRepr.string(requested)) (the working directory)", errno: e, path: requested)
        }
        var info = stat()
        guard stat(canonical, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw ConfineError(.workingDirectory, "Not a directory: \(PythonRepr.string(requested)) (the working directory)", errno: ENOTDIR, path: requested)
        }
        guard let filesystem = policy.isolation.filesystem, filesystem.workingDirectory != .none else { return canonical }
        // The rules first: they cost no system call.
        let decision = WorkingDirectoryRules.decide(canonical, rules: filesystem.workingDirectories)
        if decision.admitted { return canonical }
        if let own = policy.workingDirectory, SystemCalls.realPath(own) == canonical { return canonical }
        if grants.keys.compactMap(SystemCalls.realPath).contains(where: { WorkingDirectoryRules.isWithin(canonical, $0) }) { return canonical }
        let field = "isolation.filesystem.workingDirectories"
        let origin = Self.rulesOrigin(policy)
        let why = decision.rule.map { "its rule '\($0)' refuses it" } ?? "none of its rules admits it"
        let shown = canonical == requested ? PythonRepr.string(canonical) : "\(PythonRepr.string(requested)) (\(canonical))"
        throw ConfineError(
            .workingDirectoryNotAdmitted,
            "the working directory \(shown) is not admitted by policy '\(policy.name)': \(why) (\(field)\(origin)). "
                + "The working directory joins the command's view (\(filesystem.workingDirectory.rawValue)); run from a project folder "
                + "(such as /home/NAME/PROJECT, /srv/APP or /tmp/DIR), or use a policy whose workingDirectories admit it",
            path: canonical)
    }

    /// Where a policy's `workingDirectories` rules come from, for a refusal: the file and line
    /// that set them, or, when no file of the policy names any, the built-in rules (a line of the
    /// enclosing `filesystem` object would point at no rule).
    static func rulesOrigin(_ policy: Policy) -> String {
        let field = "isolation.filesystem.workingDirectories"
        guard policy.origins[field] != nil, let origin = policy.origin(of: field) else {
            return "; the built-in rules, as the policy names none: confine policy show lists them"
        }
        return "; \(origin)"
    }

    /// The access the working directory gets: the policy's `workingDirectory`, except for a
    /// folder that only a grant admitted (no rule admits it, and it is not the policy's own),
    /// which gets no more than the widest grant that holds it: a readOnly grant must not
    /// become a writable working directory.
    static func access(_ directory: String, filesystem: Isolation.Filesystem, grants: [String: Isolation.Access], own: String?) -> Isolation.Access {
        let access = filesystem.workingDirectory
        // A folder the policy lists readOnly stays read-only, as the working directory too.
        if access == .readWrite, filesystem.readOnly.contains(where: { WorkingDirectoryRules.isWithin(directory, canonical($0)) }) {
            return .readOnly
        }
        guard access == .readWrite, directory != own, !WorkingDirectoryRules.decide(directory, rules: filesystem.workingDirectories).admitted else {
            return access
        }
        let holding = grants.filter { WorkingDirectoryRules.isWithin(directory, $0.key) }.map(\.value)
        return holding.contains(.readWrite) ? .readWrite : holding.isEmpty ? access : .readOnly
    }

    /// A policy path resolved (`realpath(3)`), or as written when it cannot be; kept, since
    /// `access` asks for every readOnly path on every command. Policy paths are system
    /// folders whose links do not move under a running process.
    static func canonical(_ path: String) -> String {
        resolvedLock.lock()
        defer { resolvedLock.unlock() }
        if let kept = resolved[path] { return kept }
        let found = SystemCalls.realPath(path) ?? path
        resolved[path] = found
        return found
    }

    private static let resolvedLock = Lock()
    nonisolated(unsafe) private static var resolved: [String: String] = [:]

    /// Refuses a view that would show a path the executor protects (the service's
    /// configuration, its audit store): a rule path at or above a protected path, or no view at
    /// all for a command that runs as the executor's own uid.
    /// - Throws: `ConfineError(.workingDirectoryNotAdmitted)` naming the path and the rule.
    static func checkProtected(_ protected: [String], rules: [(access: UInt32, path: String)], hasView: Bool, ownUID: Bool, policy: Policy) throws {
        guard !protected.isEmpty else { return }
        if !hasView {
            guard ownUID else { return }
            throw ConfineError(.workingDirectoryNotAdmitted,
                               "policy '\(policy.name)' gives the command no filesystem view (isolation.filesystem, with Landlock) and it runs as this process's own uid, so it could read \(protected[0]), which must stay hidden; use a policy with a filesystem view")
        }
        for rule in rules {
            guard let path = SystemCalls.realPath(rule.path) else { continue }
            if let hidden = protected.first(where: { WorkingDirectoryRules.isWithin($0, path) }) {
                throw ConfineError(.workingDirectoryNotAdmitted,
                                   "the command's view would include \(PythonRepr.string(rule.path)), which holds \(hidden), a file this executor keeps hidden (the service's configuration or audit store); run the command from another folder, or move the service's files out of the view",
                                   path: rule.path)
            }
        }
    }
}
