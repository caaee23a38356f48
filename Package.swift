// swift-tools-version:6.1
import PackageDescription

/// Upcoming features every target of ours opts into (see conventions.md).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The ingest and scan hot paths (CSV parsing, sorting, SQLite binding) touch class properties millions of times;
/// release builds skip the dynamic exclusivity checks there (measured: about 9% of a bulk ingest). Debug builds, which
/// the tests run, keep them, so a violation still traps in the test suite.
let hotPathSettings: [SwiftSetting] = strictSettings + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "idaudit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "idaudit", targets: ["idaudit"]),
        .library(name: "IDAuditCore", targets: ["IDAuditCore"]),
        .library(name: "IDAuditStore", targets: ["IDAuditStore"]),
        .library(name: "IDAuditScan", targets: ["IDAuditScan"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The deletion service module's HTTP client and the emulator's server (the NIO stack).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The warehouse reader (PostgreSQL).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // SHA-256 of plans and rules (BoringSSL's; PostgresNIO builds it anyway).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // MARK: - Libraries, one per concern
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(
            name: "IDAuditCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/IDAuditCore",
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "IDAuditCSV",
            dependencies: ["CZlib"],
            path: "Sources/IDAuditCSV",
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "IDAuditRules",
            dependencies: ["IDAuditCore", .product(name: "Yams", package: "Yams")],
            path: "Sources/IDAuditRules",
            swiftSettings: strictSettings
        ),
        .target(
            name: "IDAuditStore",
            dependencies: [
                "IDAuditCore", "IDAuditCSV",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            path: "Sources/IDAuditStore",
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "IDAuditSample",
            dependencies: ["IDAuditCore", "IDAuditCSV"],
            path: "Sources/IDAuditSample",
            swiftSettings: strictSettings
        ),
        .target(
            name: "IDAuditSQL",
            dependencies: ["IDAuditCore"],
            path: "Sources/IDAuditSQL",
            swiftSettings: strictSettings
        ),
        .target(
            name: "IDAuditEngine",
            dependencies: ["IDAuditCore", "IDAuditSQL"],
            path: "Sources/IDAuditEngine",
            swiftSettings: strictSettings
        ),
        .target(
            name: "IDAuditScan",
            dependencies: ["IDAuditCore", "IDAuditCSV", "IDAuditStore", "IDAuditSQL", "IDAuditEngine"],
            path: "Sources/IDAuditScan",
            swiftSettings: strictSettings
        ),
        .target(
            name: "IDAuditDeletion",
            dependencies: [
                "IDAuditCore", "IDAuditCSV", "IDAuditStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/IDAuditDeletion",
            swiftSettings: strictSettings
        ),
        .target(
            name: "IDAuditEmulator",
            dependencies: [
                "IDAuditCore", "IDAuditCSV", "IDAuditStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Sources/IDAuditEmulator",
            swiftSettings: strictSettings
        ),
        .target(
            name: "IDAuditWarehouse",
            dependencies: [
                "IDAuditCore", "IDAuditCSV", "IDAuditSQL", "IDAuditEngine",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/IDAuditWarehouse",
            swiftSettings: strictSettings
        ),
        // MARK: - The thin executable
        .executableTarget(
            name: "idaudit",
            dependencies: [
                "IDAuditCore", "IDAuditCSV", "IDAuditRules", "IDAuditStore", "IDAuditSample", "IDAuditScan",
                "IDAuditDeletion", "IDAuditEmulator", "IDAuditWarehouse", "IDAuditSQL", "IDAuditEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/idaudit",
            swiftSettings: strictSettings,
            plugins: ["VersionStamp"]
        ),
        // The commit `idaudit --version` names, stamped before every build.
        .plugin(name: "VersionStamp", capability: .buildTool(), path: "Plugins/VersionStamp"),
        // MARK: - Tests
        .target(
            name: "IDAuditTestSupport",
            dependencies: ["IDAuditCore", "IDAuditCSV", "IDAuditStore"],
            path: "Tests/IDAuditTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IDAuditCoreTests",
            dependencies: ["IDAuditCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IDAuditCSVTests",
            dependencies: ["IDAuditCSV", "IDAuditTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IDAuditRulesTests",
            dependencies: ["IDAuditRules", "IDAuditCore", "IDAuditTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IDAuditSampleTests",
            dependencies: ["IDAuditSample", "IDAuditCSV"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IDAuditStoreTests",
            dependencies: ["IDAuditStore", "IDAuditCore", "IDAuditCSV", "IDAuditTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IDAuditScanTests",
            dependencies: [
                "IDAuditScan", "IDAuditStore", "IDAuditCore", "IDAuditRules", "IDAuditSample", "IDAuditCSV",
                "IDAuditTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IDAuditEngineTests",
            dependencies: [
                "IDAuditSQL", "IDAuditEngine", "IDAuditWarehouse", "IDAuditScan", "IDAuditStore", "IDAuditCore",
                "IDAuditRules", "IDAuditSample", "IDAuditCSV", "IDAuditTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IDAuditDeletionTests",
            dependencies: [
                "IDAuditDeletion", "IDAuditEmulator", "IDAuditScan", "IDAuditStore", "IDAuditCore", "IDAuditRules",
                "IDAuditCSV", "IDAuditTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
