@testable import Confine
import ConfinePolicy
import Glibc
import Testing

/// A command's lease (uid, home, cgroup leaf) goes back in one place, once.
@Suite struct LeaseTests {
    @Test(.enabled(if: geteuid() == 0, "uids are leased as root only"))
    func aLeaseGoesBackOnceHoweverOftenItIsReleased() throws {
        let lease = try CommandLease(user: .automatic)
        let uid = try #require(lease.leasedUID)
        let home = try lease.acquireHome()
        #expect(home.hasSuffix("/\(uid)"))
        lease.release()
        lease.release()
        // Had the uid gone back twice, the pool (most recent first) would hand it to both.
        let first = try CommandLease(user: .automatic)
        let second = try CommandLease(user: .automatic)
        #expect(first.leasedUID != second.leasedUID)
        first.release()
        second.release()
    }

    @Test func anIdentityNamedByThePolicyIsNotLeased() throws {
        let lease = try CommandLease(user: .ids(uid: 4242, gid: 4343))
        #expect(lease.leasedUID == nil)
        #expect(lease.identity?.uid == 4242 && lease.identity?.gid == 4343)
        lease.release()
    }
}
