import CConfineProtocol
import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// What the kernel offers for isolation, probed once.
public enum IsolationSupport {
    /// Landlock's ABI version (0: none).
    public static let landlockABI: Int = {
        Int(cfl_landlock_abi())
    }()

    static let isRoot = geteuid() == 0

    /// Not root, but able to make a user namespace that maps this user to itself, and in it the
    /// other namespaces, as bwrap does (`CConfine_userNamespacesUsable`, tried once for real).
    public static let userNamespaces: Bool = !isRoot && CConfine_userNamespacesUsable() == 1

    /// Whether commands get network, PID, IPC, UTS and mount namespaces here: as root, or
    /// through a user namespace of their own (`userNamespaces`).
    public static var namespaces: Bool { isRoot || userNamespaces }

    /// Whether commands can get mount namespaces of their own here (`Command.mounts`, a private
    /// `/tmp`): `namespaces`.
    public static var mountNamespaces: Bool { namespaces }

    /// Checks a policy's isolation against this machine: throws when a part it requires is
    /// missing, and returns a warning for each part it will run without.
    /// - Throws: `ConfineError(.confinementFailed)` naming the part and why.
    public static func check(_ policy: Policy) throws -> [String] {
        let isolation = policy.isolation
        var missing: [String] = []
        if isolation.filesystem != nil && landlockABI == 0 {
            missing.append("isolation.filesystem needs Landlock, which this kernel does not offer (enable CONFIG_SECURITY_LANDLOCK and lsm=landlock)")
        }
        let namespaces = [
            (isolation.network == .none, "isolation.network none"), (isolation.pidNamespace, "isolation.processes.namespace"),
            (isolation.privateIPC, "isolation.ipc private, and with it a private /dev/shm: without one, POSIX semaphores and shared memory (Python's multiprocessing locks and queues) fail"), (isolation.filesystem?.tmp != nil, "isolation.filesystem.tmp"),
            (isolation.filesystem?.readOnlyRoot == true, "isolation.filesystem.readOnlyRoot"),
        ].filter(\.0).map(\.1)
        if !namespaces.isEmpty && !Self.namespaces {
            missing.append("namespaces (\(namespaces.joined(separator: ", "))) need Confine to run as root, or user namespaces this user may make (the kernel's user.max_user_namespaces and kernel.unprivileged_userns_clone, an LSM such as AppArmor's apparmor_restrict_unprivileged_userns, or a container's seccomp filter forbid them here)")
        }
        if isolation.usesCgroups && !Cgroups.available {
            missing.append("isolation.memory/cpu/processes.max need the memory, cpu and pids cgroup controllers, v1 or v2, and Confine as root (confine doctor says what this host has)")
        }
        if missing.isEmpty { return [] }
        if isolation.required {
            throw ConfineError(.confinementFailed, "policy '\(policy.name)' requires isolation this machine cannot give: \(missing.joined(separator: "; "))")
        }
        return missing.map { "policy '\(policy.name)' runs without part of its isolation: \($0)" }
    }
}

/// The launcher's isolation fields for one command.
struct IsolationPlan {
    var flags: UInt32 = 0
    var scopes: UInt32 = 0
    var rules: [(access: UInt32, path: String)] = []
    var tmpSize: UInt64 = 0
    /// With no private /tmp: the size in MiB of a private tmpfs on /dev/shm alone (0: none).
    var shmSizeMiB: UInt32 = 0
    /// HOME/TMPDIR for the command when it gets a private /tmp.
    var privateTmp: Bool { tmpSize > 0 }

    static let read = UInt32(CFL_FS_READ), write = UInt32(CFL_FS_WRITE), exec = UInt32(CFL_FS_EXEC), noFollow = UInt32(CFL_FS_NOFOLLOW)
    static let idmap = UInt32(CFL_FS_IDMAP), mount = UInt32(CFL_FS_MOUNT)
    /// The private /dev/shm's size when the policy caps no memory.
    static let defaultShm: UInt64 = 64 << 20

    /// What the policy asks for, less what the machine lacks (`IsolationSupport.check` has
    /// already refused a required part that is missing).
    /// - Parameter workingDirectoryAsOwner: a `readWrite` working directory is mounted idmapped,
    ///   its owner shown as the command's leased uid (`IdmappedMounts`; the caller has checked it).
    /// - Parameter grantsAsOwner: read-write grants (as given in `grants`) mounted idmapped the same way.
    /// - Parameter ownWorkingDirectory: the policy's own `workingDirectory`, resolved.
    /// - Parameter readWriteAsOwner: the policy's `readWrite` paths mounted idmapped, each to its
    ///   canonical path (checked by the caller).
    init(_ isolation: Isolation, workingDirectory: String?, home: String?, executable: String, grants: [String: Isolation.Access],
         workingDirectoryAsOwner: Bool = false, grantsAsOwner: Set<String> = [], ownWorkingDirectory: String? = nil,
         mounts: [Command.Mount] = [], privateTmpSize: UInt64? = nil, readWriteAsOwner: [String: String] = [:]) {
        let root = IsolationSupport.isRoot
        // Namespaces as root, or in a user namespace of the command's own (never with idmapping,
        // which needs root in the folder's own namespace).
        let namespaces = IsolationSupport.namespaces
        // Each mount a rule of its own (its target's path; the launcher builds the new root from
        // them), whatever else the policy asks for: read and run (a function's code), writes too
        // for a writable one, runnable then only if the policy lets written files run.
        defer {
            if namespaces && !mounts.isEmpty {
                let runnable = isolation.filesystem?.writableExecutable ?? true
                self.rules += mounts.map { (access: Self.mount | Self.read | ($0.writable ? Self.write | (runnable ? Self.exec : 0) : Self.exec), path: $0.target) }
                flags |= UInt32(CFL_ISO_NEWNS)
            }
            let made = UInt32(CFL_ISO_NEWNS | CFL_ISO_NEWNET | CFL_ISO_NEWPID | CFL_ISO_NEWIPC | CFL_ISO_NEWUTS | CFL_ISO_READONLY_ROOT)
            if !root && (flags & made != 0 || tmpSize > 0 || shmSizeMiB > 0) { flags |= UInt32(CFL_ISO_NEWUSER) }
        }
        if namespaces, let privateTmpSize, privateTmpSize > 0 { tmpSize = privateTmpSize }
        if namespaces {
            if isolation.network == .none { flags |= UInt32(CFL_ISO_NEWNET) }
            if isolation.pidNamespace { flags |= UInt32(CFL_ISO_NEWPID) }
            if isolation.privateIPC { flags |= UInt32(CFL_ISO_NEWIPC) }
            // POSIX shared memory and named semaphores (shm_open, sem_open: multiprocessing's
            // locks and queues) live in /dev/shm, which an IPC namespace does not cover: a
            // private IPC gets a /dev/shm of its own (a private /tmp brings one already), as
            // large as the tree's memory cap (tmpfs pages are charged to the writer's cgroup).
            if isolation.privateIPC && isolation.filesystem?.tmp == nil && (privateTmpSize ?? 0) == 0 {
                shmSizeMiB = UInt32(max(1, min((isolation.memory ?? Self.defaultShm) >> 20, UInt64(UInt32.max))))
            }
        }
        // Abstract unix sockets and signals outside the command's own domain are out of reach,
        // with a filesystem view or without one (then a Landlock domain of the scopes alone).
        if IsolationSupport.landlockABI >= 6 {
            scopes = UInt32(CFL_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | CFL_LANDLOCK_SCOPE_SIGNAL)
            if isolation.filesystem == nil { flags |= UInt32(CFL_ISO_SCOPES) }
        }
        guard let filesystem = isolation.filesystem else { return }
        if namespaces {
            if let tmp = filesystem.tmp, tmpSize == 0 { tmpSize = tmp }
            if filesystem.readOnlyRoot { flags |= UInt32(CFL_ISO_READONLY_ROOT) }
        }
        let landlock = IsolationSupport.landlockABI > 0
        if landlock { flags |= UInt32(CFL_ISO_LANDLOCK) }
        guard landlock || filesystem.readOnlyRoot else { return }
        // What the command may write is executable too unless the policy says otherwise.
        let written = Self.read | Self.write | (filesystem.writableExecutable ? Self.exec : 0)
        var rules: [(UInt32, String)] = filesystem.readOnly.map { (Self.read | Self.exec, $0) }
        // a readWrite folder that is mapped: by its canonical path, opened without following links
        rules += filesystem.readWrite.map { path in
            guard root, let canonical = readWriteAsOwner[path] else { return (written, path) }
            return (written | Self.noFollow | Self.idmap, canonical)
        }
        // What every command needs to start, and what it was given.
        rules.append((Self.read | Self.exec, executable))
        rules += [("/dev/null", Self.read | Self.write), ("/dev/full", Self.read | Self.write), ("/dev/zero", Self.read),
                  ("/dev/urandom", Self.read), ("/dev/random", Self.read)].map { ($1, $0) }
        if let workingDirectory {
            switch WorkingDirectoryCheck.access(workingDirectory, filesystem: filesystem, grants: grants, own: ownWorkingDirectory) {
            case .none: break
            // resolved by the executor: opened without following links, so none swapped in later widens the view
            case .readOnly: rules.append((Self.read | Self.exec | Self.noFollow, workingDirectory))
            // idmapped in the command's own mount namespace (one is made if the policy asks for none)
            case .readWrite: rules.append((written | Self.noFollow | (workingDirectoryAsOwner && root ? Self.idmap : 0), workingDirectory))
            }
        }
        if privateTmp {
            rules += [(written, "/tmp"), (written, "/dev/shm")]
        } else {
            if let home { rules.append((written, home)) }
            if shmSizeMiB > 0 { rules.append((written, "/dev/shm")) }
        }
        if isolation.pidNamespace && namespaces { rules.append((Self.read, "/proc")) }
        // Canonical paths (the executor checked), opened by the launcher as given without
        // following any link: never resolved again here, so a link or a folder swapped in after
        // the check cannot redirect a grant. With writableExecutable false a grant is not
        // executable either (a readOnly grant beneath a writable folder would make it so).
        let granted = Self.read | (filesystem.writableExecutable ? Self.exec : 0)
        for (path, access) in grants.sorted(by: { $0.key < $1.key }) {
            switch access {
            case .none: break
            case .readOnly: rules.append((granted | Self.noFollow, path))
            case .readWrite: rules.append((written | Self.noFollow | (grantsAsOwner.contains(path) && root ? Self.idmap : 0), path))
            }
        }
        self.rules = rules.map { (access: $0.0, path: $0.1) }
        if rules.contains(where: { $0.0 & Self.idmap != 0 }) { flags |= UInt32(CFL_ISO_NEWNS) }
    }
}
