import Foundation
import Testing

/// Confine as a dependency, tried as a new user would: a package that depends on this working
/// tree builds, and its `checkOutput(["ls", "-l"])` (the README's first Swift line) runs with no
/// policies folder, no confine-launch file and no environment variable: the shipped policies and
/// the launcher come from the library itself.
@Suite struct ConsumerTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func run(_ executable: String, _ arguments: [String], in directory: String, environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.timeLimit(.minutes(15)))
    func aPackageThatDependsOnConfineRunsTheReadmesFirstLine() throws {
        let consumer = "/var/tmp/confine-consumer-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: consumer + "/Sources/App", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: consumer) }
        try """
            // swift-tools-version:6.0
            import PackageDescription
            let package = Package(
                name: "App",
                dependencies: [.package(path: "\(Self.repository)")],
                targets: [.executableTarget(name: "App", dependencies: [.product(name: "Confine", package: "\(URL(fileURLWithPath: Self.repository).lastPathComponent)")])]
            )
            """.write(toFile: consumer + "/Package.swift", atomically: true, encoding: .utf8)
        try """
            import Confine
            let listing = try await checkOutput(["ls", "-l"])
            print(String(decoding: listing, as: UTF8.self), terminator: "")
            print("policy:", try Executor.standard().policy.name)
            """.write(toFile: consumer + "/Sources/App/main.swift", atomically: true, encoding: .utf8)
        try "hello".write(toFile: consumer + "/marker.txt", atomically: true, encoding: .utf8)
        chmod(consumer + "/marker.txt", 0o644)
        let swift = ProcessInfo.processInfo.environment["PATH"].flatMap { path in
            path.split(separator: ":").map { "\($0)/swift" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        } ?? "/opt/swift/usr/bin/swift"
        let build = try run(swift, ["build", "--product", "App"], in: consumer)
        try #require(build.status == 0, "the consumer builds: \(build.output.suffix(2000))")
        // Run from its own folder, with no CONFINE_* variable and nothing of Confine's beside it.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CONFINE_") }
        environment["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        #expect(!FileManager.default.fileExists(atPath: consumer + "/.build/debug/confine-launch"))
        let result = try run(consumer + "/.build/debug/App", [], in: consumer, environment: environment)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("marker.txt"), "ls -l of the working directory: \(result.output)")
        #expect(result.output.contains("policy: default"))
    }
}
