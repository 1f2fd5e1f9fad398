import ConfineCommandLine
import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// `confine serve` and `confine log` are `confine-server`'s: the service (Hummingbird, NIO,
/// GRDB, swift-crypto) lives in its own executable so that `confine` starts small. These
/// commands, and `confine invoke` of a Swift handler, hand over to it by execv(2) when it is
/// installed beside `confine` (or named by `$CONFINE_SERVER`): same arguments, same process.
enum Server {
    static let commands = ["serve", "log", "remote"]

    /// `confine-server` next to the running `confine`, or `$CONFINE_SERVER`.
    static func path() -> String? {
        if let named = ProcessInfo.processInfo.environment["CONFINE_SERVER"], !named.isEmpty { return named }
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        let candidate = URL(fileURLWithPath: executable).deletingLastPathComponent().path + "/confine-server"
        return access(candidate, X_OK) == 0 ? candidate : nil
    }

    /// Replaces this process with `confine-server` and this process's own arguments.
    static func handOver(because reason: String) -> Never {
        guard let server = path() else {
            fail("\(reason), and confine-server is not installed beside confine (build it: swift build --product confine-server, or set CONFINE_SERVER)", status: 2)
        }
        // execv(2) returns only on failure; the copies it was given need no freeing then either.
        var argv: [UnsafeMutablePointer<CChar>?] = (["confine-server"] + CommandLine.arguments.dropFirst()).map { strdup($0) } + [nil]
        execv(server, &argv)
        fail("cannot start \(server): \(String(cString: strerror(errno)))", status: 2)
    }
}

extension ConfineCommand {
    /// `confine serve ...`: handed to confine-server (listed here for --help).
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve functions and command execution over HTTP (confine-server serve; see its --help).")
        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
        func run() throws { Server.handOver(because: "confine serve is confine-server's") }
    }

    /// `confine remote ...`: handed to confine-server, which holds the signing and the HTTP client.
    struct Remote: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remote",
            abstract: "Run a command or invoke a function on a confine serve node, signed (confine-server remote; see its --help).")
        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
        func run() throws { Server.handOver(because: "confine remote is confine-server's") }
    }

    /// `confine log ...`: handed to confine-server (listed here for --help).
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "log",
            abstract: "Show the service's audit log (confine-server log; see its --help).")
        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
        func run() throws { Server.handOver(because: "confine log is confine-server's") }
    }
}
