import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// What a policy's filesystem view (`isolation.filesystem`, enforced by Landlock) does with one
/// path, and which rule decides: what `confine check --path` prints. It reads the policy and
/// the path's folders and runs nothing.
///
/// The view is the union of its rules, each covering a path and everything beneath it, as
/// Landlock's are: the policy's `readOnly` and `readWrite` paths, the working directory (at the
/// access `workingDirectory` gives it, when the rules admit it), grants for the run, the
/// command's private HOME/TMPDIR (or `/tmp` with `tmp`), a private `/dev/shm` with `ipc
/// private`, `/proc` with a PID namespace, and the few devices every command gets.
public struct FilesystemView: Sendable {
    /// One path's verdict.
    public struct Decision: Sendable, CustomStringConvertible {
        /// Whether the view admits the path with the access asked.
        public var admitted: Bool
        /// The rule that admits it (or, refused for writing, the one that admits reading): the
        /// policy field and its file:line, or what Confine adds.
        public var rule: String?
        /// More to know: the folder's permissions, a part this machine lacks.
        public var notes: [String] = []
        /// Whether the command's uid can reach the path at all (the folders above let it
        /// through, and the path's own permissions allow the access): false when the view
        /// admits a path the command still cannot use.
        public var reachable = true

        public var description: String { rule ?? "no rule" }
    }

    let policy: Policy
    let workingDirectory: String?
    let grants: [String: Isolation.Access]

    /// - Parameters:
    ///   - workingDirectory: where the command would start (resolved here), nil for none.
    ///   - grants: paths granted for the run (canonical, as `FilesystemGrants.admit` returns).
    public init(policy: Policy, workingDirectory: String?, grants: [String: Isolation.Access] = [:]) {
        self.policy = policy
        self.workingDirectory = workingDirectory.flatMap(SystemCalls.realPath)
        self.grants = grants
    }

    private struct Rule {
        var path: String
        var write: Bool
        var what: String
    }

    /// The rules of the view, in the launcher's order, each with what it is.
    private func rules(_ filesystem: Isolation.Filesystem) -> [Rule] {
        func origin(_ field: String) -> String { policy.origin(of: field).map { "\(field), \($0)" } ?? field }
        var rules: [Rule] = []
        for (i, path) in filesystem.readOnly.enumerated() {
            rules.append(Rule(path: path, write: false, what: origin("isolation.filesystem.readOnly[\(i)]")))
        }
        for (i, path) in filesystem.readWrite.enumerated() {
            rules.append(Rule(path: path, write: true, what: origin("isolation.filesystem.readWrite[\(i)]")))
        }
        for device in ["/dev/null", "/dev/full"] { rules.append(Rule(path: device, write: true, what: "a device every command gets")) }
        for device in ["/dev/zero", "/dev/urandom", "/dev/random"] { rules.append(Rule(path: device, write: false, what: "a device every command gets")) }
        if let workingDirectory, filesystem.workingDirectory != .none {
            let own = policy.workingDirectory.flatMap(SystemCalls.realPath)
            let admitted = WorkingDirectoryRules.decide(workingDirectory, rules: filesystem.workingDirectories).admitted || workingDirectory == own
                || grants.keys.contains { WorkingDirectoryRules.isWithin(workingDirectory, $0) }
            let access = WorkingDirectoryCheck.access(workingDirectory, filesystem: filesystem, grants: grants, own: own)
            if admitted && access != .none {
                rules.append(Rule(path: workingDirectory, write: access == .readWrite,
                                  what: "the working directory (\(origin("isolation.filesystem.workingDirectory")): \(access.rawValue))"))
            }
        }
        let root = IsolationSupport.namespaces
        if filesystem.tmp != nil && root {
            rules.append(Rule(path: "/tmp", write: true, what: "the private /tmp (\(origin("isolation.filesystem.tmp")))"))
            rules.append(Rule(path: "/dev/shm", write: true, what: "the private /dev/shm (\(origin("isolation.filesystem.tmp")))"))
        } else if policy.isolation.privateIPC && root {
            // (HOME/TMPDIR, a fresh folder of the command's own under /tmp/confine-home, has no path to ask about.)
            rules.append(Rule(path: "/dev/shm", write: true, what: "the private /dev/shm (\(origin("isolation.ipc")))"))
        }
        if policy.isolation.pidNamespace && root { rules.append(Rule(path: "/proc", write: false, what: "the PID namespace's own /proc (\(origin("isolation.processes.namespace")))")) }
        for (path, access) in grants.sorted(by: { $0.key < $1.key }) where access != .none {
            rules.append(Rule(path: path, write: access == .readWrite, what: "a grant for this run (\(access.rawValue))"))
        }
        return rules
    }

    /// Whether the view admits `path` for reading (or writing), and by which rule.
    public func decide(_ path: String, write: Bool) -> Decision {
        guard let filesystem = policy.isolation.filesystem else {
            return Decision(admitted: true, rule: "no filesystem view (isolation.filesystem): the command sees what its uid may",
                            notes: permissionNotes(path, write: write).notes, reachable: permissionNotes(path, write: write).reachable)
        }
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let canonical = SystemCalls.realPath(absolute) ?? URL(fileURLWithPath: absolute).standardized.path
        var notes: [String] = []
        if canonical != absolute && SystemCalls.realPath(absolute) != nil { notes.append("\(absolute) resolves to \(canonical); the rules apply to that") }
        if IsolationSupport.landlockABI == 0 {
            notes.append("this kernel has no Landlock: the view is not enforced here (isolation.required \(policy.isolation.required ? "makes that an error" : "is false: a warning"))")
        }
        let covering = rules(filesystem).filter { WorkingDirectoryRules.isWithin(canonical, SystemCalls.realPath($0.path) ?? $0.path) }
        let permissions = permissionNotes(canonical, write: write)
        notes += permissions.notes
        if let rule = covering.first(where: { !write || $0.write }) {
            return Decision(admitted: true, rule: rule.what, notes: notes, reachable: permissions.reachable)
        }
        if write, let reading = covering.first {
            return Decision(admitted: false, rule: "readable only, by \(reading.what)", notes: notes)
        }
        return Decision(admitted: false, rule: nil, notes: notes)
    }

    /// Why the command could not enter its working directory, as `confine run` would find at
    /// launch (exit 126); nil when it can. As root under `user: auto` the command runs as a uid
    /// of its own: every folder above the working directory must let others through (o+x); the
    /// working directory itself too, unless it is readWrite (mounted as the command's own).
    public func workingDirectoryRefusal() -> String? {
        guard geteuid() == 0, policy.user == .automatic, let workingDirectory,
              let closed = Self.closedFolder(on: workingDirectory, itself: policy.isolation.filesystem?.workingDirectory != .readWrite)
        else { return nil }
        return "cannot enter the working directory '\(workingDirectory)': \(closed) admits no other user, and the command runs as a uid of its own; run it from a folder every user may enter (each folder on the path o+x), or under a policy with \"user\": \"inherit\""
    }

    /// The first folder on `path` (the folders above it, and `path` itself when `itself`) that
    /// does not let other users through (no o+x), as "/root (mode 700)"; nil when every one does.
    static func closedFolder(on path: String, itself: Bool) -> String? {
        var folder = ""
        for component in itself ? path.split(separator: "/") : path.split(separator: "/").dropLast() {
            folder += "/" + component
            var info = stat()
            guard stat(folder, &info) == 0 else { continue }
            if info.st_mode & S_IXOTH == 0 { return "\(folder) (mode \(String(info.st_mode & 0o7777, radix: 8)))" }
        }
        return nil
    }

    /// As root, commands run under a leased uid that is neither owner nor in the group: the
    /// folders on the way must let others through, and the path others read (or write) —
    /// except, inside a readWrite working directory (which `confine run` mounts as the
    /// command's own), what its owner owns, which the command reaches as the owner.
    private func permissionNotes(_ path: String, write: Bool) -> (notes: [String], reachable: Bool) {
        guard geteuid() == 0, policy.user == .automatic else { return ([], true) }
        var owner: uid_t?
        if let workingDirectory, policy.isolation.filesystem?.workingDirectory == .readWrite {
            var info = stat()
            if stat(workingDirectory, &info) == 0 { owner = info.st_uid }
        }
        func asOwner(_ folder: String, _ info: stat) -> Bool {
            guard let owner, let workingDirectory else { return false }
            return info.st_uid == owner && WorkingDirectoryRules.isWithin(folder, workingDirectory)
        }
        var folder = ""
        for component in path.split(separator: "/").dropLast() {
            folder += "/" + component
            var info = stat()
            guard stat(folder, &info) == 0 else { continue }
            let passable = asOwner(folder, info) ? info.st_mode & S_IXUSR != 0 : info.st_mode & S_IXOTH != 0
            if !passable {
                return (["\(folder) (mode \(String(info.st_mode & 0o7777, radix: 8))) does not let others through, and the command runs as a uid of its own: it cannot reach \(path)"], false)
            }
        }
        var info = stat()
        guard stat(path, &info) == 0 else { return (["\(path) does not exist (yet)"], true) }
        let owned = asOwner(path, info)
        let bit = owned ? (write ? S_IWUSR : S_IRUSR) : (write ? S_IWOTH : S_IROTH)
        guard info.st_mode & bit == 0 else { return ([], true) }
        return (["\(path) is not \(write ? "writable" : "readable") by \(owned ? "its owner" : "others") (mode \(String(info.st_mode & 0o7777, radix: 8))), and the command runs as a uid of its own"], false)
    }
}
