@testable import Confine
import ConfinePolicy
import Foundation
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

    @Test(.enabled(if: geteuid() == 0, "uids are leased as root only"))
    func aHomeLeftFullByAnEarlierProcessIsEmptiedBeforeItIsLeasedAgain() throws {
        // A process that exits before its background cleanup ran leaves the home as it was.
        let lease = try CommandLease(user: .automatic)
        let uid = try #require(lease.leasedUID)
        let home = try lease.acquireHome()
        #expect(mkdir(home + "/d", 0o700) == 0)
        #expect(FileManager.default.createFile(atPath: home + "/d/secret", contents: Data("left behind".utf8)))
        #expect(chmod(home + "/d", 0o500) == 0)
        IdentityPool.shared.release(uid)  // the uid goes back, its home untouched
        let next = try CommandLease(user: .automatic)
        #expect(next.leasedUID == uid, "the pool hands out the most recent uid first")
        let again = try next.acquireHome()
        #expect(again == home)
        #expect(try FileManager.default.contentsOfDirectory(atPath: again).isEmpty, "nothing of the earlier command is left")
        next.release()
    }
}
