import Confine
import ConfinePolicy
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// confine-bench: spawn latency, capture throughput and concurrency of Confine beside its
// peers, all measured in this run on this machine, printed as ratios.
//   swift run -c release ConfineBench [--quick]
//   swift run -c release ConfineBench --serve [--quick]   (the service under wrk)
//   swift run -c release ConfineBench --serve --fleet [--quick]   (SQLite, PostgreSQL, two nodes)

let quick = CommandLine.arguments.contains("--quick")
if CommandLine.arguments.contains("--serve") && CommandLine.arguments.contains("--fleet") {
    try await LoadBenchmark.runFleet(quick: quick)
    exit(0)
}
if CommandLine.arguments.contains("--serve") {
    try await LoadBenchmark.run(quick: quick)
    exit(0)
}
let spawns = quick ? 200 : 1000

struct Stats {
    var samples: [Double]  // milliseconds
    var median: Double { percentile(0.5) }
    var p99: Double { percentile(0.99) }
    func percentile(_ p: Double) -> Double {
        let sorted = samples.sorted()
        return sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
    }
}

func measure(_ count: Int, warmup: Int = 5, _ body: () throws -> Void) rethrows -> Stats {
    for _ in 0..<warmup { try body() }
    var samples: [Double] = []
    samples.reserveCapacity(count)
    for _ in 0..<count {
        let t = ContinuousClock.now
        try body()
        samples.append(t.duration(to: .now).seconds * 1000)
    }
    return Stats(samples: samples)
}

func row(_ name: String, _ stats: Stats?, floor: Double, note: String = "") {
    guard let stats else { print(pad(name, 44) + "  (not available)"); return }
    print(pad(name, 44) + pad(String(format: "%.3f", stats.median), 9) + pad(String(format: "%.3f", stats.p99), 9)
          + pad(String(format: "%.2fx", stats.median / floor), 8) + note)
}

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }

func maxRSS() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

func openDescriptors() -> Int {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
}

let shipped = try PolicyReader().load("default")
// The core rows measure the seccomp + rlimits level (the shipped default without its isolation);
// section 4 adds each isolation level.
var policy = shipped
policy.isolation = Isolation()
let executor = try Executor(policy: policy)
let gib = 1 << 30
let captureArgv = ["head", "-c", String(gib), "/dev/zero"]

// 1. Capture first, while this process is small, so its peak RSS shows what capture costs.
print("== capture: 1 GiB of stdout (outputLimit \(Quantity.format(bytes: UInt64(policy.outputLimit ?? 0)))) ==")
// Alternate the two, best of two each, so neither gains from running second.
let rssBefore = maxRSS()
var confinedCapture = Double.infinity
var raw = (bytes: 0, seconds: Double.infinity)
var captured: CompletedProcess?
for _ in 0..<2 {
    captured = nil
    let start = ContinuousClock.now
    let result = try executor.execute(Command(captureArgv, stdin: .null, stdout: .pipe, stderr: .discard))
    confinedCapture = min(confinedCapture, start.duration(to: .now).seconds)
    captured = result
    let r = Peers.rawCapture(captureArgv)
    if r.seconds < raw.seconds { raw = r }
}
let rssGrowth = maxRSS() - rssBefore
let pythonCapture = Peers.pythonCapture(captureArgv)
let gbps = { (bytes: Int, s: Double) in Double(bytes) / s / 1e9 }
print(pad("raw read() loop", 44) + String(format: "%.2f GB/s", gbps(raw.bytes, raw.seconds)))
print(pad("Confine (confined, capped, counted)", 44) + String(format: "%.2f GB/s  = %.2fx raw  (%d bytes drained, %d kept, peak RSS +%d MiB)",
      gbps(captured?.stdoutBytes ?? 0, confinedCapture), raw.seconds / confinedCapture, captured?.stdoutBytes ?? 0, captured?.stdout?.count ?? 0, rssGrowth >> 20))
if let pythonCapture { print(pad("Python subprocess.check_output (holds it all)", 44) + String(format: "%.2f GB/s", Double(gib) / pythonCapture / 1e9)) }
let captureOK = raw.seconds / confinedCapture >= 0.8
let memoryOK = rssGrowth <= (policy.outputLimit ?? 0) + (16 << 20)

// 2. Spawn latency.
print("\n== spawn latency, \(spawns) sequential calls (ms) ==")
print(pad("", 44) + pad("median", 9) + pad("p99", 9) + pad("vs floor", 8))
let floor = measure(spawns) { _ = Peers.posixSpawn(["/bin/true"]) }
row("posix_spawn + waitpid  true (floor)", floor, floor: floor.median)
let pythonTrue = Peers.python(["true"], count: spawns).map(Stats.init)
row("Python subprocess.check_output(['true'])", pythonTrue, floor: floor.median)
let foundation = measure(spawns / 4) { _ = Peers.foundationProcess(["/bin/true"]) }
row("Foundation Process + terminationHandler", foundation, floor: floor.median, note: "unconfined")
let bwrapArgs = ["/usr/bin/bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "/bin/true"]
let bwrap = Peers.available(bwrapArgs[0]) ? measure(spawns / 4) { _ = Peers.posixSpawn(bwrapArgs) } : nil
row("bwrap --ro-bind / / --dev --proc  true", bwrap, floor: floor.median, note: "no seccomp")
let confinedAsync: Stats = try await {
    for _ in 0..<5 { _ = try await executor.checkOutput(["true"]) }
    var samples: [Double] = []
    for _ in 0..<spawns {
        let t = ContinuousClock.now
        _ = try await executor.checkOutput(["true"])
        samples.append(t.duration(to: .now).seconds * 1000)
    }
    return Stats(samples: samples)
}()
row("Confine checkOutput([\"true\"]) async", confinedAsync, floor: floor.median, note: "seccomp + rlimits + own uid, spawn helper")
let confinedBlocking = try measure(spawns) { _ = try executor.checkOutput(["true"]) }
row("Confine checkOutput([\"true\"]) blocking", confinedBlocking, floor: floor.median)
let quiet = try Executor(policy: policy, reportRefusals: false)
let confinedQuiet = try measure(spawns) { _ = try quiet.checkOutput(["true"]) }
row("Confine, refusals not reported (blocking)", confinedQuiet, floor: floor.median, note: "no seccomp user notification")
let oneShot = try measure(quick ? 30 : 100) {
    let fresh = try Executor(policy: policy)
    _ = try fresh.checkOutput(["true"])
}
row("Confine, new Executor per call", oneShot, floor: floor.median, note: "starts confine-launch --serve each time")
let cli = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("confine").path

let lsFloor = measure(spawns / 2) { _ = Peers.posixSpawn(["/bin/ls", "-l", "/usr/bin"]) }
row("posix_spawn  ls -l /usr/bin", lsFloor, floor: lsFloor.median)
let pythonLs = Peers.python(["ls", "-l", "/usr/bin"], count: spawns / 2).map(Stats.init)
row("Python check_output(['ls','-l','/usr/bin'])", pythonLs, floor: lsFloor.median)
let confinedLs = try measure(spawns / 2) { _ = try executor.checkOutput(["ls", "-l", "/usr/bin"]) }
row("Confine checkOutput([\"ls\",\"-l\",\"/usr/bin\"])", confinedLs, floor: lsFloor.median)

// 3. Concurrency: 8 tasks, no stalls, no descriptor growth.
print("\n== concurrency: \(spawns) confined `true` from 8 tasks ==")
let fdsBefore = openDescriptors()
let concurrentStart = ContinuousClock.now
let latencies: [Double] = try await withThrowingTaskGroup(of: [Double].self) { group in
    for _ in 0..<8 {
        group.addTask {
            var mine: [Double] = []
            for _ in 0..<(spawns / 8) {
                let t = ContinuousClock.now
                _ = try await executor.checkOutput(["true"])
                mine.append(t.duration(to: .now).seconds * 1000)
            }
            return mine
        }
    }
    var all: [Double] = []
    for try await mine in group { all += mine }
    return all
}
let concurrentSeconds = concurrentStart.duration(to: .now).seconds
let concurrent = Stats(samples: latencies)
let fdGrowth = openDescriptors() - fdsBefore
print(String(format: "%d calls in %.2f s = %.0f/s; latency median %.2f ms, p99 %.2f ms, max %.2f ms; descriptor growth %d",
             latencies.count, concurrentSeconds, Double(latencies.count) / concurrentSeconds, concurrent.median, concurrent.p99,
             concurrent.percentile(1), fdGrowth))

// 4. Isolation levels: what each part of `isolation` costs per command.
print("\n== isolation levels: confined `true`, \(spawns / 2) sequential calls (ms) ==")
print(pad("", 44) + pad("median", 9) + pad("p99", 9) + pad("vs floor", 8))
func level(_ name: String, _ change: (inout Isolation) -> Void) throws -> Stats {
    var p = shipped
    var isolation = Isolation()
    change(&isolation)
    p.isolation = isolation
    let e = try executor.bound(to: p)
    let stats = try measure(spawns / 2) { _ = try e.checkOutput(["true"]) }
    row(name, stats, floor: floor.median)
    return stats
}
_ = try level("seccomp + rlimits + own uid (no isolation)") { _ in }
_ = try level("+ Landlock filesystem view") { $0.filesystem = shipped.isolation.filesystem }
_ = try level("+ private tmpfs /tmp (mount namespace)") { $0.filesystem = shipped.isolation.filesystem; $0.filesystem?.tmp = 64 << 20 }
_ = try level("+ network namespace (loopback only)") { $0.network = .none }
_ = try level("+ PID namespace (init + command)") { $0.pidNamespace = true }
_ = try level("+ IPC namespace") { $0.privateIPC = true }
_ = try level("+ cgroups (memory, cpu, pids)") { $0.memory = 1 << 30; $0.cpu = 1; $0.maxProcesses = 256 }
let full = try level("shipped default: all of the above but tmpfs") { $0 = shipped.isolation }
// The same policy on an executor of its own, as a service's `default` is: as root its spare
// monitors make the network namespace while they wait (the rows above share the helper of an
// executor made for no isolation, whose spares make none).
let ownExecutor = try Executor(policy: shipped)
let ownFull = try measure(spawns / 2) { _ = try ownExecutor.checkOutput(["true"]) }
row("shipped default, an executor of its own", ownFull, floor: floor.median, note: "network namespace made ahead")
let bwrapAll = ["/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "/bin/true"]
let bwrapFull = Peers.available(bwrapAll[0]) ? measure(spawns / 4) { _ = Peers.posixSpawn(bwrapAll) } : nil
row("bwrap --unshare-all --ro-bind / / --dev --proc --tmpfs", bwrapFull, floor: floor.median, note: "no seccomp, no cgroups")

// 5. The command line: one command per process, as `confine run` is used from a shell or a
// script. Needs the release `confine` beside this benchmark (scripts/setup.sh builds it static).
print("\n== confine, one command per process, \(quick ? 30 : 100) runs (ms) ==")
print(pad("", 44) + pad("median", 9) + pad("p99", 9) + pad("vs floor", 8))
let runs = quick ? 30 : 100
let cliAvailable = Peers.available(cli)
let helpStats = cliAvailable ? measure(runs) { _ = Peers.posixSpawn([cli, "--help"]) } : nil
row("confine --help", helpStats, floor: floor.median)
let bwrapPlainArgs = ["/usr/bin/bwrap", "--ro-bind", "/", "/", "/bin/true"]
let bwrapPlain = Peers.available(bwrapPlainArgs[0]) ? measure(runs) { _ = Peers.posixSpawn(bwrapPlainArgs) } : nil
row("bwrap --ro-bind / / /bin/true", bwrapPlain, floor: floor.median, note: "no seccomp; a mount namespace only")
let bwrapComparableArgs = ["/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                           "--die-with-parent", "/bin/true"]
let bwrapComparable = Peers.available(bwrapComparableArgs[0]) ? measure(runs) { _ = Peers.posixSpawn(bwrapComparableArgs) } : nil
row("bwrap --unshare-all ... --die-with-parent", bwrapComparable, floor: floor.median, note: "comparable isolation, no seccomp")
let cliTrue = cliAvailable ? measure(runs) { _ = Peers.posixSpawn([cli, "run", "--", "/bin/true"]) } : nil
row("confine run -- /bin/true (shipped default)", cliTrue, floor: floor.median, note: "one-shot launcher, cached filter")
let cliLs = cliAvailable ? measure(runs) { _ = Peers.posixSpawn([cli, "run", "--", "ls", "-l", "/usr/bin"]) } : nil
row("confine run -- ls -l /usr/bin", cliLs, floor: lsFloor.median, note: "vs posix_spawn of ls")
// A project folder of 1,000 entries (50 folders of 19 files) made here, in the current
// directory: as root, before the folder is mounted as its owner's, each entry is checked for a
// set-uid, set-gid or capability file of the owner's (IdmappedMounts), which costs per entry.
let tree = FileManager.default.currentDirectoryPath + "/confine-bench-tree-\(getpid())"
var treeMade = false
if cliAvailable, geteuid() == 0, (try? FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: false)) != nil {
    treeMade = true
    for folder in 0..<50 {
        let path = "\(tree)/d\(folder)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        for file in 0..<19 { FileManager.default.createFile(atPath: "\(path)/f\(file).swift", contents: Data("// \(file)\n".utf8)) }
    }
}
let cliTree = treeMade ? measure(runs) { _ = Peers.posixSpawn([cli, "run", "--cwd", tree, "--", "/bin/true"]) } : nil
row("confine run in a 1,000-entry folder (root)", cliTree, floor: floor.median,
    note: cliTree.map { tree in cliTrue.map { String(format: "%.1f µs more an entry", (tree.median - $0.median) * 1000 / 1_000) } ?? "" } ?? "")
let bwrapTreeArgs = bwrapComparableArgs.dropLast() + ["--bind", tree, tree, "--chdir", tree, "/bin/true"]
let bwrapTree = treeMade && Peers.available(bwrapTreeArgs[0]) ? measure(runs) { _ = Peers.posixSpawn(Array(bwrapTreeArgs)) } : nil
row("bwrap --unshare-all ... --bind that folder", bwrapTree, floor: floor.median, note: "comparable isolation, no seccomp")
if treeMade { try? FileManager.default.removeItem(atPath: tree) }

// 6. Verdicts against the issues' targets.
print("\n== targets ==")
func verdict(_ ok: Bool, _ text: String) { print((ok ? "PASS " : "MISS ") + text) }
verdict(confinedAsync.median <= 2.0 * floor.median, String(format: "confined true <= 2.0x posix_spawn floor: %.2fx", confinedAsync.median / floor.median))
if let pythonTrue { verdict(confinedAsync.median <= pythonTrue.median, String(format: "stretch: confined true <= Python's unconfined call: %.2fx", confinedAsync.median / pythonTrue.median)) }
if let bwrap { verdict(confinedAsync.median <= 0.5 * bwrap.median, String(format: "confined true <= 0.5x bwrap: %.2fx", confinedAsync.median / bwrap.median)) }
verdict(captureOK, String(format: "capture >= 0.8x raw read loop: %.2fx", raw.seconds / confinedCapture))
verdict(memoryOK, "capture memory <= cap + 16 MiB: +\(rssGrowth >> 20) MiB")
verdict(fdGrowth <= 0, "no descriptor growth under 8 concurrent tasks: \(fdGrowth)")
if let bwrapFull { verdict(full.median < bwrapFull.median, String(format: "full isolation ahead of bwrap --unshare-all: %.2f ms vs %.2f ms", full.median, bwrapFull.median)) }
verdict(concurrent.percentile(1) < 100, String(format: "no stalls (max < 100 ms) under 8 concurrent tasks: %.2f ms", concurrent.percentile(1)))
if let cliTrue, let bwrapPlain {
    verdict(cliTrue.median <= 1.5 * bwrapPlain.median, String(format: "confine run -- /bin/true <= 1.5x bwrap --ro-bind / / (aim 1.0x): %.2fx", cliTrue.median / bwrapPlain.median))
}
if let cliTrue, let bwrapComparable {
    verdict(cliTrue.median <= bwrapComparable.median, String(format: "confine run -- /bin/true <= 1.0x bwrap --unshare-all: %.2fx", cliTrue.median / bwrapComparable.median))
}
if let helpStats { verdict(helpStats.median <= 3, String(format: "confine --help <= 3 ms: %.2f ms", helpStats.median)) }
if let cliLs, let pythonLs {
    verdict(cliLs.median <= 1.5 * pythonLs.median, String(format: "confine run -- ls -l /usr/bin <= 1.5x Python check_output: %.2fx", cliLs.median / pythonLs.median))
}
