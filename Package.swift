// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Confine",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Confine", targets: ["Confine"]),
        .library(name: "ConfinePolicy", targets: ["ConfinePolicy"]),
        .library(name: "ConfineRuntime", targets: ["ConfineRuntime"]),
        .executable(name: "confine", targets: ["ConfineCLI"]),
        .executable(name: "confine-server", targets: ["ConfineServer"]),
        .executable(name: "confine-launch", targets: ["ConfineLaunch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.3.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // The wire protocol shared by the executor and the launcher: one header.
        .target(name: "CConfineProtocol", path: "Sources/CConfineProtocol"),
        // The only place that includes <seccomp.h>.
        .target(
            name: "CSeccomp",
            path: "Sources/CSeccomp",
            linkerSettings: [.linkedLibrary("seccomp")]
        ),
        .target(name: "ConfinePolicy", dependencies: ["CSeccomp", "CConfineProtocol"], path: "Sources/ConfinePolicy"),
        // The spawn helper: plain C, no libseccomp; it only applies what the parent compiled. A
        // library, linked into Confine too (re-executed through /proc/self/exe when no
        // confine-launch file is found), and the static confine-launch executable.
        .target(name: "CConfineLaunch", dependencies: ["CConfineProtocol"], path: "Sources/CConfineLaunch"),
        .executableTarget(
            name: "ConfineLaunch",
            dependencies: ["CConfineLaunch"],
            path: "Sources/ConfineLaunch",
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        // Attack programs the security tests run inside the sandbox (a target, not a product).
        .executableTarget(name: "ConfineProbe", path: "Tests/ConfineProbe"),
        .target(name: "Confine", dependencies: ["ConfinePolicy", "CConfineProtocol", "CConfineLaunch"], path: "Sources/Confine"),
        .target(
            name: "ConfineRuntime",
            dependencies: ["Confine", .product(name: "Logging", package: "swift-log")],
            path: "Sources/ConfineRuntime"
        ),
        // `confine serve`: the HTTP service (Hummingbird), its signing, audit store and metrics.
        .target(
            name: "ConfineService",
            dependencies: [
                "Confine", "ConfineRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ConfineService"
        ),
        // The seed's handlers in Swift, registered by the CLI under their handler names.
        .target(
            name: "ConfineExamples",
            dependencies: ["ConfineRuntime", .product(name: "Crypto", package: "swift-crypto")],
            path: "examples/swift"
        ),
        // What both executables' mains share (usage errors end in status 2).
        .target(
            name: "ConfineCommandLine",
            dependencies: ["Confine", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/ConfineCommandLine"
        ),
        // `confine`: run, check, audit, policy, learn, invoke. Links no service: serve and log
        // hand over to confine-server. A static executable (not position-independent): no
        // dynamic loader, no shared libraries to map and no 40,000 relocations before main,
        // ~3 ms of every `confine run`. glibc's user and group look-ups (files, built into
        // libc since 2.34) work as before; other NSS modules need the glibc it was built with.
        .executableTarget(
            name: "ConfineCLI",
            dependencies: [
                "Confine",
                "ConfinePolicy",
                "ConfineRuntime",
                "ConfineCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/ConfineCLI",
            linkerSettings: [.unsafeFlags(["-static-executable", "-l_FoundationCollections", "-l_FoundationCShims", "-lswiftSynchronization"])]
        ),
        // `confine-server`: serve, log, and invoke with the example Swift handlers registered.
        .executableTarget(
            name: "ConfineServer",
            dependencies: [
                "ConfineService",
                "ConfineRuntime",
                "ConfineExamples",
                "ConfineCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Sources/ConfineServer"
        ),
        .executableTarget(
            name: "ConfineBench",
            dependencies: ["Confine", "ConfineLaunch", "ConfineService", "ConfineExamples",
                           .product(name: "Hummingbird", package: "hummingbird")],
            path: "Benchmarks/ConfineBench"
        ),
        .testTarget(name: "ConfinePolicyTests", dependencies: ["ConfinePolicy"], path: "Tests/ConfinePolicyTests",
                    exclude: ["Fixtures"]),
        .testTarget(
            name: "ConfineTests",
            dependencies: ["Confine", "ConfineLaunch", "ConfineProbe"],
            path: "Tests/ConfineTests"
        ),
        .testTarget(
            name: "ConfineRuntimeTests",
            dependencies: ["ConfineRuntime", "ConfineExamples", "ConfineLaunch"],
            path: "Tests/ConfineRuntimeTests",
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "ConfineServiceTests",
            dependencies: [
                "ConfineService", "ConfineExamples", "ConfineLaunch",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/ConfineServiceTests"
        ),
        .testTarget(
            name: "ConfineCLITests",
            // the tests run the `confine` binary (a static executable, whose link flags must not
            // reach the test bundle), not its module: `swift build --build-tests` builds it
            dependencies: ["ConfineServer", "ConfineLaunch", "ConfineService"],
            path: "Tests/ConfineCLITests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
