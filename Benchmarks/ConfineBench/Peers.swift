import ConfinePolicy
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The peers Confine is measured against, each timed in this process and this run.
enum Peers {
    /// posix_spawn(3) + waitpid(2): the floor for starting a program at all.
    static func posixSpawn(_ argv: [String], stdoutToNull: Bool = true) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if stdoutToNull { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ)
        guard rc == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    /// A raw read(2) loop over a child's stdout: bytes read per second, nothing kept.
    static func rawCapture(_ argv: [String]) -> (bytes: Int, seconds: Double) {
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        _ = fcntl(fds[0], 1031 /* F_SETPIPE_SZ */, Int32(1 << 20))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let started = ContinuousClock.now
        guard posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ) == 0 else { return (0, 1) }
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var total = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n > 0 { total += n; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        close(fds[0])
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (total, started.duration(to: .now).seconds)
    }

    /// Foundation's Process with a termination handler (never waitUntilExit: 50 ms a call here).
    static func foundationProcess(_ argv: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch { return -1 }
        done.wait()
        return process.terminationStatus
    }

    /// Python's subprocess.check_output, timed inside one interpreter: median ms of `count` calls.
    static func python(_ argv: [String], count: Int) -> [Double]? {
        let script = """
            import subprocess, sys, time, json
            argv = json.loads(sys.argv[1]); n = int(sys.argv[2]); out = []
            for _ in range(n):
                t = time.perf_counter(); subprocess.check_output(argv); out.append((time.perf_counter() - t) * 1000)
            print(json.dumps(out))
            """
        guard let data = capture(["/usr/bin/python3", "-c", script, json(argv), String(count)]) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [Double]
    }

    /// Python reading `argv`'s whole stdout with check_output: seconds, timed inside Python.
    static func pythonCapture(_ argv: [String]) -> Double? {
        let script = """
            import subprocess, sys, time, json
            t = time.perf_counter(); n = len(subprocess.check_output(json.loads(sys.argv[1]))); print(time.perf_counter() - t)
            """
        guard let data = capture(["/usr/bin/python3", "-c", script, json(argv)]) else { return nil }
        return Double(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func available(_ path: String) -> Bool { access(path, X_OK) == 0 }

    static func json(_ argv: [String]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: argv)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// Runs a helper program and returns its stdout.
    static func capture(_ argv: [String]) -> Data? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        return process.terminationStatus == 0 ? data : nil
    }
}
