import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// What this host offers Confine, part by part, and what a policy gets here (`confine doctor`):
/// each part found or missing, with what it means and how to get it.
public struct HostReport: Sendable {
    /// One capability of the host.
    public struct Part: Sendable {
        /// A stable identifier: `seccomp.notify`, `landlock`, `namespaces`, `cgroups`, `idmap`.
        public var id: String
        public var available: Bool
        /// What was found ("Landlock ABI 7: abstract-socket and signal scopes").
        public var detail: String
        /// How to get it, when missing.
        public var fix: String?
    }

    /// What one policy gets here.
    public struct PolicyFit: Sendable {
        public var name: String
        public var file: String?
        public var required: Bool
        /// The parts of its isolation it runs without (warnings), empty when it gets all of it.
        public var missing: [String]
        /// It asks for `required: true` and would not start here.
        public var wouldFail: Bool
        /// The error it would stop with.
        public var error: String?
    }

    /// `uname -r`.
    public var kernel: String
    /// Confine runs as root (commands under leased uids).
    public var root: Bool
    public var parts: [Part]

    /// Probes this host, changing nothing on it: from this call on, this process only looks
    /// where the cgroup controllers are (`fit` then answers from that too). `workingDirectory`:
    /// the folder whose filesystem is asked about idmapped mounts (what `confine run` does there
    /// as root).
    public static func probe(workingDirectory: String) -> HostReport {
        Cgroups.lookOnly = true
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var parts: [Part] = []

        let actions = (try? String(contentsOfFile: "/proc/sys/kernel/seccomp/actions_avail", encoding: .utf8)) ?? ""
        let notify = actions.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("user_notif")
        parts.append(Part(id: "seccomp.notify", available: notify,
                          detail: notify ? "seccomp filters with user notification: refused calls are named in records"
                              : "no seccomp user notification (\(actions.isEmpty ? "no /proc/sys/kernel/seccomp/actions_avail" : "actions: " + actions.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " "))): policies are enforced, refused calls are not named",
                          fix: notify ? nil : "Linux 5.0 or later with CONFIG_SECCOMP_FILTER"))

        let abi = IsolationSupport.landlockABI
        parts.append(Part(id: "landlock", available: abi > 0,
                          detail: abi == 0 ? "no Landlock: isolation.filesystem (the filesystem view) cannot be given"
                              : "Landlock ABI \(abi)" + (abi >= 6 ? ": with the abstract-socket and signal scopes" : ": without scopes (ABI 6, Linux 6.12): abstract sockets and signals outside the command stay reachable"),
                          fix: abi == 0 ? "Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK=y and landlock in the lsm= boot parameter (cat /sys/kernel/security/lsm)" : nil))

        let root = IsolationSupport.isRoot
        parts.append(Part(id: "namespaces", available: IsolationSupport.namespaces,
                          detail: root ? "network, PID, IPC, UTS and mount namespaces (as root)"
                              : IsolationSupport.userNamespaces ? "network, PID, IPC, UTS and mount namespaces inside a user namespace of the command's own (this user may make them)"
                              : "no namespaces: this user may not make user namespaces",
                          fix: IsolationSupport.namespaces ? nil
                              : "allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1 where it exists; on Ubuntu an AppArmor profile for confine-launch or kernel.apparmor_restrict_unprivileged_userns=0; in a container, a seccomp profile that allows clone with CLONE_NEWUSER), or run Confine as root"))

        let v2 = Self.cgroup2Controllers()
        let placement = Cgroups.lookedUp
        let placed = placement.map { found in
            Cgroups.controllers.map { "\($0) (\(found[$0] == .v2 ? "v2, \(v2?.path ?? "?")/confine" : "v1, /sys/fs/cgroup/\($0)/confine"))" }.joined(separator: ", ")
        }
        parts.append(Part(id: "cgroups", available: placement != nil,
                          detail: placed.map { "\($0): isolation.memory, cpu and processes.max apply to the whole tree" }
                              ?? ("no usable memory, cpu and pids controllers" + (root ? "" : " (they need root)")
                                  + (v2.map { "; cgroup v2 at \($0.path) offers [\($0.controllers.joined(separator: " "))]" } ?? "")
                                  + ": isolation.memory, cpu and processes.max are skipped (RLIMIT_AS and RLIMIT_NPROC still apply)"),
                          fix: placement != nil ? nil : root
                              ? "mount the memory, cpu and pids controllers, in cgroup v1 hierarchies under /sys/fs/cgroup or in the cgroup v2 hierarchy (where a v1 hierarchy holds a controller, unmount it and add +CONTROLLER to the v2 root's cgroup.subtree_control)"
                              : "run Confine as root (a cgroup subtree delegated to this user is not used yet)"))

        if root {
            // The folder is mounted as the command's own, but the command (a leased uid) must
            // get there first: every folder above it must let others through.
            if let closed = FilesystemView.closedFolder(on: workingDirectory, itself: false) {
                parts.append(Part(id: "idmap", available: false,
                                  detail: "\(workingDirectory): \(closed) admits no other user, and a command under a leased uid cannot enter a folder below it (confine run exits 126)",
                                  fix: "run from a folder every user may enter (each folder above it o+x), or under a policy with \"user\": \"inherit\""))
            } else {
                let obstacle = IdmappedMounts.obstacle(workingDirectory)
                parts.append(Part(id: "idmap", available: obstacle == nil,
                                  detail: obstacle.map { "\(workingDirectory): \($0)" } ?? "\(workingDirectory) can be mounted idmapped: a command under a leased uid writes there as the folder's owner",
                                  fix: obstacle == nil ? nil : "run from a folder on a filesystem that supports idmapped mounts (ext4, XFS, Btrfs, tmpfs on Linux 6.3+), owned by root or by the user who runs the command, that others may not write"))
            }
        }
        return HostReport(kernel: kernel, root: root, parts: parts)
    }

    /// What `policy` gets on this host: the parts it runs without, or the error it stops with.
    public static func fit(_ policy: Policy) -> PolicyFit {
        do {
            let warnings = try IsolationSupport.check(policy)
            let prefix = "policy '\(policy.name)' runs without part of its isolation: "
            return PolicyFit(name: policy.name, file: policy.source, required: policy.isolation.required,
                             missing: warnings.map { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : $0 }, wouldFail: false, error: nil)
        } catch {
            return PolicyFit(name: policy.name, file: policy.source, required: policy.isolation.required, missing: [], wouldFail: true, error: "\(error)")
        }
    }

    /// The cgroup v2 hierarchy this process sees, and the controllers it offers.
    static func cgroup2Controllers() -> (path: String, controllers: [String])? {
        // mountinfo(5): ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
        // (each field without spaces: the kernel writes a space in a path as \040)
        guard let text = SystemCalls.contents(of: "/proc/self/mountinfo", limit: 64 << 20) else { return nil }
        for line in text.split(separator: 0x0A) {
            let fields = line.split(separator: 0x20)
            guard let dash = fields.firstIndex(where: { $0.elementsEqual([0x2D]) }), dash > 4, dash + 1 < fields.count,
                  fields[dash + 1].elementsEqual("cgroup2".utf8) else { continue }
            let path = String(decoding: fields[4], as: UTF8.self)
            let controllers = (SystemCalls.contents(of: path + "/cgroup.controllers") ?? [])
                .split(whereSeparator: { $0 == 0x20 || $0 == 0x0A }).map { String(decoding: $0, as: UTF8.self) }
            return (path, controllers)
        }
        return nil
    }
}
