import CConfineLaunch
import CConfineProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The long-lived `confine-launch --serve` process (a forkserver in the manner of Android's
/// zygote): started once through Foundation's `Process`, it takes spawn requests over a
/// SOCK_SEQPACKET socket and forks a monitor per command. If it dies it is started again on
/// the next request; a request it had taken but not yet forked fails with a clear error.
final class SpawnHelper: @unchecked Sendable {
    /// The datagram that stands for a request sent in a memfd: the header's magic and flags.
    static let memfdStubSize = MemoryLayout.offset(of: \cfl_request_header.uid) ?? 8
    let launcherPath: String
    /// What the helper is started with: `--serve`, after the marker for the embedded launcher.
    let arguments: [String]
    private let lock = NSLock()
    private var process: Process?
    private var control: Int32 = -1

    init(launcherPath: String) {
        self.launcherPath = launcherPath
        arguments = ["--serve"]
    }

    /// The launcher linked into this program (CConfineLaunch), run by re-executing the program
    /// itself: for programs that depend on Confine and have no confine-launch file beside them.
    /// nil when /proc/self/exe cannot be read.
    static func embedded() -> SpawnHelper? {
        guard cfl_embedded_launcher() == 1, let program = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return nil
        }
        return SpawnHelper(launcherPath: program, arguments: [CFL_EMBEDDED_MARKER, "--serve"])
    }

    private init(launcherPath: String, arguments: [String]) {
        self.launcherPath = launcherPath
        self.arguments = arguments
    }

    /// The helper exits when its control socket closes: when the last executor sharing it goes.
    deinit {
        SystemCalls.close(control)
    }

    /// Sends one request with its descriptors, starting (or restarting) the helper as needed.
    func send(_ payload: [UInt8], fds: [Int32]) throws {
        var fds = fds
        var payload = payload
        var memfd: Int32 = -1
        defer { SystemCalls.close(memfd) }
        if payload.count > Int(CFL_MAX_INLINE_REQUEST) {
            memfd = try SystemCalls.memfd(holding: payload)
            fds.append(memfd)
            payload = Array(payload.prefix(Self.memfdStubSize))
        }
        for attempt in 0..<2 {
            // Sent under the lock, so a concurrent restart cannot close (and reuse) the fd mid-send.
            lock.lock()
            defer { lock.unlock() }
            let socket = try connection(restart: attempt > 0)
            do {
                try SystemCalls.send(socket, payload, fds: fds)
                return
            } catch let error as SystemCallError where error.errno == EPIPE || error.errno == ECONNRESET || error.errno == ENOTCONN {
                continue
            }
        }
        throw ConfineError(.launcherFailed, "the spawn helper \(launcherPath) exits as soon as it starts; run it by hand to see why")
    }

    /// The control socket of a running helper. The caller holds the lock.
    private func connection(restart: Bool) throws -> Int32 {
        if restart || process?.isRunning == false {
            SystemCalls.close(control)
            control = -1
            process = nil
        }
        if control >= 0 { return control }
        let (parentEnd, childEnd) = try SystemCalls.seqpacketPair()
        let helper = Process()
        helper.executableURL = URL(fileURLWithPath: launcherPath)
        helper.arguments = arguments
        helper.environment = ["PATH": "/usr/bin:/bin"]
        helper.standardInput = FileHandle(fileDescriptor: childEnd, closeOnDealloc: false)
        helper.standardOutput = FileHandle.nullDevice
        helper.terminationHandler = { _ in }
        do {
            try helper.run()
        } catch {
            SystemCalls.close(parentEnd)
            SystemCalls.close(childEnd)
            throw ConfineError(.launcherFailed, "cannot start the spawn helper \(launcherPath): \(error.localizedDescription)")
        }
        SystemCalls.close(childEnd)
        process = helper
        control = parentEnd
        return parentEnd
    }

    /// The helper's pid, while it runs.
    var processIdentifier: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return process?.isRunning == true ? process?.processIdentifier : nil
    }

    /// Where `confine-launch` is: `$CONFINE_LAUNCH`, next to the running executable, or in a
    /// build folder of the package above it.
    static func locateLauncher() -> String? {
        let fm = FileManager.default
        if let explicit = ProcessInfo.processInfo.environment["CONFINE_LAUNCH"], !explicit.isEmpty {
            return explicit
        }
        var candidates: [URL] = []
        if let main = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            candidates.append(main.deletingLastPathComponent().appendingPathComponent("confine-launch"))
        }
        if let argv0 = CommandLine.arguments.first, argv0.contains("/") {
            candidates.append(URL(fileURLWithPath: argv0).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("confine-launch"))
        }
        candidates += ["/usr/local/libexec/confine-launch", "/usr/local/bin/confine-launch", "/usr/libexec/confine-launch"].map(URL.init(fileURLWithPath:))
        return candidates.first { fm.isExecutableFile(atPath: $0.path) }?.path
    }
}
