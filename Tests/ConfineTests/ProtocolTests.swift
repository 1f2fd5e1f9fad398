@testable import Confine
import CConfineProtocol
import Foundation
import Testing

/// The wire protocol has one source, `confine_protocol.h`: Swift fills the imported C structs,
/// and the launcher answers what it cannot read with the request-stage failure.
@Suite struct ProtocolTests {
    @Test func theEncoderWritesTheCLayout() throws {
        // The layout the launcher asserts (_Static_assert in launch.h) is the one Swift imports.
        #expect(MemoryLayout<cfl_request_header>.size == 72)
        #expect(MemoryLayout.offset(of: \cfl_request_header.iso_flags) == 44)
        #expect(MemoryLayout.offset(of: \cfl_request_header.tmp_size) == 64)
        #expect(MemoryLayout<cfl_rlimit>.size == 24)
        var request = LaunchRequest(executable: "/bin/true", arguments: [Array("true".utf8), Array("x".utf8)], environment: [Array("A=b".utf8)], workingDirectory: "/opt",
                                    filter: nil, rlimits: [(7, 64, 65)], identity: (uid: 4242, gid: 4343))
        request.filesystemRules = [(access: UInt32(CFL_FS_READ), path: "/usr")]
        request.tmpSize = 1 << 20
        let bytes = request.encode()
        func u32(_ offset: Int) -> UInt32 { bytes[offset..<offset + 4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } }
        func u64(_ offset: Int) -> UInt64 { bytes[offset..<offset + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
        #expect(u32(MemoryLayout.offset(of: \cfl_request_header.magic)!) == UInt32(CFL_MAGIC))
        #expect(u32(MemoryLayout.offset(of: \cfl_request_header.uid)!) == 4242)
        #expect(u32(MemoryLayout.offset(of: \cfl_request_header.gid)!) == 4343)
        #expect(u32(MemoryLayout.offset(of: \cfl_request_header.argc)!) == 2)
        #expect(u32(MemoryLayout.offset(of: \cfl_request_header.cwd_len)!) == 5)
        #expect(u32(MemoryLayout.offset(of: \cfl_request_header.fs_rules_len)!) == 4 + 5)
        #expect(u64(MemoryLayout.offset(of: \cfl_request_header.tmp_size)!) == 1 << 20)
        let limits = MemoryLayout<cfl_request_header>.size
        #expect(u32(limits) == 7 && u64(limits + 8) == 64 && u64(limits + 16) == 65)
        let strings = String(decoding: bytes[(limits + 24)...], as: UTF8.self)
        #expect(strings.hasPrefix("/bin/true\0/opt\0true\0x\0A=b\0"))
        #expect(bytes.count == limits + 24 + 10 + 5 + 5 + 2 + 4 + 4 + 5)
    }

    @Test func aRefusalIsARecordOfItsOwn() async throws {
        // REFUSED travels as struct cfl_refusal (number, arch, errno, three arguments in fields of
        // their own), told from struct cfl_report by `kind`, the first field of both.
        #expect(MemoryLayout.offset(of: \cfl_refusal.kind) == MemoryLayout.offset(of: \cfl_report.kind))
        #expect(MemoryLayout.offset(of: \cfl_refusal.args) == 24)
        #expect(MemoryLayout<cfl_refusal>.size == 48)
        // End to end: a refused socket() arrives with its number, errno and arguments.
        let result = try await Executors.default.run([probe, "socket-inet"], stdin: .null, captureOutput: true)
        let call = try #require(result.refused.first)
        #expect(call.number == 41 && call.errno == EPERM, "\(call)")
        #expect(call.arguments.count == 3 && call.arguments[0] == UInt64(AF_INET) && call.arguments[2] == 0, "\(call.arguments)")
        #expect(call.arguments[1] & 0xf == 1 /* SOCK_STREAM */ && call.arguments[1] & UInt64(SOCK_CLOEXEC.rawValue) != 0,
                "the probe asks for SOCK_STREAM | SOCK_CLOEXEC: \(call.arguments)")
    }

    /// Sends raw bytes to a real `confine-launch --serve` and reads the one report it answers with.
    func answer(to payload: [UInt8]) throws -> cfl_report {
        let launcher = try #require(SpawnHelper.locateLauncher())
        let helper = SpawnHelper(launcherPath: launcher)
        let (statusParent, statusChild) = try SystemCalls.seqpacketPair()
        defer { SystemCalls.close(statusParent) }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        try helper.send(payload, fds: [statusChild, null, null, null])
        SystemCalls.close(statusChild)
        var report = cfl_report()
        var pollfd = pollfd(fd: statusParent, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pollfd, 1, 10_000) == 1, "the launcher answers")
        let n = withUnsafeMutableBytes(of: &report) { recv(statusParent, $0.baseAddress, $0.count, 0) }
        #expect(n == MemoryLayout<cfl_report>.size)
        return report
    }

    @Test(arguments: [
        ("not a request", Array("hello".utf8)),
        ("wrong magic", [UInt8](repeating: 0xAB, count: 72)),
        ("a header that promises more than it holds", {
            var header = cfl_request_header()
            header.magic = UInt32(CFL_MAGIC)
            header.path_len = 4096
            header.argc = 1
            return withUnsafeBytes(of: header) { Array($0) }
        }()),
    ])
    func aMalformedRequestIsARequestStageFailure(_ what: String, _ payload: [UInt8]) throws {
        let report = try answer(to: payload)
        #expect(report.kind == CFL_REPORT_FAILED.rawValue, "\(what)")
        #expect(report.stage == Int32(CFL_STAGE_REQUEST.rawValue), "\(what)")
    }

    /// A mount's target is one top-level name; it has a source, and is never idmapped: anything
    /// else is refused before a process is made.
    @Test(arguments: [
        ("a target of two components", "/code/sub", UInt32(CFL_FS_MOUNT | CFL_FS_READ)),
        ("a target that is the root's parent", "/..", UInt32(CFL_FS_MOUNT | CFL_FS_READ)),
        ("the root itself", "/", UInt32(CFL_FS_MOUNT | CFL_FS_READ)),
        ("a mount that is idmapped too", "/code", UInt32(CFL_FS_MOUNT | CFL_FS_READ | CFL_FS_WRITE | CFL_FS_IDMAP)),
    ])
    func aMalformedMountIsRefused(_ what: String, _ target: String, _ access: UInt32) throws {
        var request = LaunchRequest(executable: "/bin/true", arguments: [Array("true".utf8)], environment: [], workingDirectory: nil,
                                    filter: nil, rlimits: [], identity: nil)
        request.isolationFlags = UInt32(CFL_ISO_LANDLOCK)
        request.filesystemRules = [(access: access, path: target)]
        request.mountSources = [target: "/usr"]
        let report = try answer(to: request.encode())
        #expect(report.kind == CFL_REPORT_FAILED.rawValue, "\(what)")
        #expect(report.stage == Int32(CFL_STAGE_REQUEST.rawValue), "\(what)")
    }
    /// A one-shot launcher of an ordinary user (`--once --user`) makes the command's user
    /// namespace, and the network namespace in it, before its request: neither can be left. A
    /// request that asks for no user namespace, or for no network namespace, is refused (FAILED
    /// at the namespace stage, EINVAL), never run in them; one that asks for both starts. Run as
    /// nobody, through setpriv.
    @Test func aLauncherThatMadeAUserNamespaceAheadRunsOnlyARequestThatAsksForIt() throws {
        let launcher = try #require(SpawnHelper.locateLauncher())
        let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: nobody[0])
        probe.arguments = Array(nobody.dropFirst()) + ["/usr/bin/unshare", "--user", "--net", "true"]
        try probe.run()
        probe.waitUntilExit()
        try #require(probe.terminationStatus == 0, "this host lets an ordinary user make user and network namespaces")
        // the launcher as nobody, `--user` added behind the helper's back: the helper itself
        // would start a plain launcher for a request that does not fit (`Ahead.fits`)
        let wrapper = "/var/tmp/confine-launch-as-nobody-\(getpid())"
        try "#!/bin/sh\nexec \(nobody.joined(separator: " ")) \(launcher) \"$@\" --user\n".write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        defer { unlink(wrapper) }
        func report(_ flags: UInt32) throws -> cfl_report {
            var request = LaunchRequest(executable: "/bin/true", arguments: [Array("true".utf8)], environment: [], workingDirectory: "/",
                                        filter: nil, rlimits: [], identity: nil)
            request.isolationFlags = flags
            let helper = SpawnHelper(launcherPath: wrapper, oneShot: true, network: true)
            let (statusParent, statusChild) = try SystemCalls.seqpacketPair()
            defer { SystemCalls.close(statusParent) }
            let null = open("/dev/null", O_RDWR | O_CLOEXEC)
            defer { close(null) }
            let pid = try helper.send(request.encode(), fds: [statusChild, null, null, null])
            SystemCalls.close(statusChild)
            var report = cfl_report()
            var pollfd = pollfd(fd: statusParent, events: Int16(POLLIN), revents: 0)
            #expect(poll(&pollfd, 1, 10_000) == 1, "the launcher answers")
            _ = withUnsafeMutableBytes(of: &report) { recv(statusParent, $0.baseAddress, $0.count, 0) }
            if let pid { SpawnHelper.reaper.wait(for: pid) }
            return report
        }
        let both = try report(UInt32(CFL_ISO_NEWUSER | CFL_ISO_NEWNET | CFL_ISO_NEWPID))
        #expect(both.kind == CFL_REPORT_STARTED.rawValue, "kind \(both.kind) stage \(both.stage) errno \(both.err)")
        for flags in [UInt32(0), UInt32(CFL_ISO_NEWNET | CFL_ISO_NEWPID), UInt32(CFL_ISO_NEWUSER | CFL_ISO_NEWPID)] {
            let refused = try report(flags)
            #expect(refused.kind == CFL_REPORT_FAILED.rawValue && refused.stage == Int32(CFL_STAGE_NAMESPACE.rawValue) && refused.err == EINVAL,
                    "flags \(flags): kind \(refused.kind) stage \(refused.stage) errno \(refused.err)")
        }
    }

    /// Which requests such a launcher takes, as the executor sees it before sending one.
    @Test func aRequestFitsALauncherThatMadeAUserNamespaceOnlyIfItAsksForIt() {
        func payload(_ flags: UInt32) -> [UInt8] {
            var request = LaunchRequest(executable: "/bin/true", arguments: [Array("true".utf8)], environment: [], workingDirectory: nil,
                                        filter: nil, rlimits: [], identity: nil)
            request.isolationFlags = flags
            return request.encode()
        }
        let user = UInt32(CFL_ISO_NEWUSER), net = UInt32(CFL_ISO_NEWNET), pid = UInt32(CFL_ISO_NEWPID)
        let userAndNetwork = SpawnHelper.Ahead(user: true, network: true)
        #expect(userAndNetwork.fits(payload(user | net | pid)))
        #expect(!userAndNetwork.fits(payload(user | pid)) && !userAndNetwork.fits(payload(net | pid)) && !userAndNetwork.fits(payload(0)))
        let userOnly = SpawnHelper.Ahead(user: true, network: false)
        #expect(userOnly.fits(payload(user | pid)) && userOnly.fits(payload(user | net)) && !userOnly.fits(payload(net)))
        // a launcher that made no user namespace (root's --net goes back to the host's) takes any
        #expect(SpawnHelper.Ahead(user: false, network: true).fits(payload(0)))
        #expect(!userAndNetwork.fits([0, 1, 2]), "not even a header")
    }
}
