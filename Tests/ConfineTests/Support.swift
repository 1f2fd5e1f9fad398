import Confine
import ConfinePolicy
import Foundation
import Testing

/// The build folder holding the test runner, confine-launch and ConfineProbe.
let buildDirectory: String = {
    let runner = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
    return runner.resolvingSymlinksInPath().deletingLastPathComponent().path
}()

/// The attack program the security tests run inside the sandbox.
let probe = buildDirectory + "/ConfineProbe"  // an executable target, not a product: built under its target name

enum Policies {
    static func load(_ name: String) -> Policy {
        do { return try PolicyReader().load(name) } catch { fatalError("shipped policy \(name) does not load: \(error)") }
    }
    static let `default` = load("default")
    static let python = load("python")
    static let strict = load("strict")
}

/// One executor per shipped policy, shared by the tests (one spawn helper each).
enum Executors {
    static func make(_ policy: Policy) -> Executor {
        do { return try Executor(policy: policy) } catch { fatalError("cannot make an executor: \(error)") }
    }
    static let `default` = make(Policies.default)
    static let python = make(Policies.python)
}

/// A variant of a shipped policy.
func variant(_ policy: Policy, _ change: (inout Policy) -> Void) -> Policy {
    var copy = policy
    change(&copy)
    return copy
}

extension [UInt8] {
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// The descriptors open in this process.
func openDescriptors() -> Int {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
}

/// Whether a process with this pid exists and is not a zombie.
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    guard let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// Pids whose command line contains `marker`.
func processes(matching marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(marker) && isAlive(pid)
    }
}
