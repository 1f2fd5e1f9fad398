import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// What one command holds while it runs, given back in one place: the uid leased for it from
/// `IdentityPool` (as root), its private HOME (`PrivateHome`) and its cgroup leaf (`Cgroups`).
///
/// The executor acquires a lease before it builds the launch request and hands it to the
/// execution; `release()` gives the home and the uid back exactly once, whether the command
/// never started or its whole process tree is known to be gone.
final class CommandLease: @unchecked Sendable {
    /// The uid and gid the command runs as; nil: this process's own.
    let identity: (uid: UInt32, gid: UInt32)?
    /// The uid taken from the pool for this command alone (policy `user: automatic` as root).
    let leasedUID: UInt32?
    /// The command's private HOME, once `acquireHome()` made it.
    private(set) var home: String?
    /// The command's cgroup leaf, once `acquireCgroup(for:)` made it.
    private(set) var cgroup: Cgroups?
    /// The leaf is this command's alone (removed at release), not a leased uid's reused one.
    private var perCommandLeaf = false

    private let lock = Lock()
    private var released = false

    /// Leases the identity `user` asks for: as root under `automatic`, a uid of the pool.
    /// - Throws: `ConfineError(.launcherFailed)` when the pool is exhausted.
    init(user: UserSpec) throws {
        switch user {
        case .automatic where geteuid() == 0:
            let uid = try IdentityPool.shared.lease()
            identity = (uid, uid)
            leasedUID = uid
        case .automatic, .inherit:
            identity = nil
            leasedUID = nil
        case .ids(let uid, let gid):
            identity = (uid, gid)
            leasedUID = nil
        }
    }

    /// Makes the command's private HOME, owned by its identity.
    /// - Returns: the folder's path.
    /// - Throws: `ConfineError` when the folder cannot be made.
    func acquireHome() throws -> String {
        let made = try PrivateHome.acquire(owner: identity)
        home = made
        return made
    }

    /// Makes (or, for a leased uid, reuses) the command's cgroup leaf with the limits of
    /// `isolation` (memory, cpu, pids).
    /// - Returns: the leaf's `cgroup.procs` files, for the launcher to join.
    /// - Throws: `ConfineError(.confinementFailed)` when the leaf cannot be made or set.
    func acquireCgroup(for isolation: Isolation) throws -> [String] {
        // a leased uid's own leaf, reused; a leaf per command otherwise, and where memory is on
        // cgroup v2 (whose peak a reused leaf would carry over)
        let reused = leasedUID != nil && !Cgroups.memoryOnV2
        let leaf = try Cgroups(name: reused ? "u\(leasedUID ?? 0)" : "c\(getpid())-\(Cgroups.nextLeaf())", isolation: isolation)
        cgroup = leaf
        perCommandLeaf = !reused
        return leaf.procs
    }

    /// Reads the cgroup's memory peak (bytes) and OOM kills. Call before `release()`: once the
    /// uid is back, its leaf may serve another command.
    func collectUsage() -> (memoryPeak: Int?, oomKilled: Bool) {
        guard let cgroup else { return (nil, false) }
        let usage = cgroup.usage()
        return (usage.peak, usage.oomKilled)
    }

    /// Gives back the per-command cgroup leaf, the home (emptied, in the background if it holds
    /// anything) and then the uid. Only once: later calls do nothing. Call it only when no
    /// process of the command can be alive (it never started, or its tree was reaped).
    func release() {
        lock.lock()
        let first = !released
        released = true
        lock.unlock()
        guard first else { return }
        if perCommandLeaf { cgroup?.remove() }
        let uid = leasedUID
        if let home {
            PrivateHome.release(home, leased: uid != nil) { if let uid { IdentityPool.shared.release(uid) } }
        } else if let uid {
            IdentityPool.shared.release(uid)
        }
    }
}
