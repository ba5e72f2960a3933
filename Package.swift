// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "incident-orchestrator",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "orchestrator-server", targets: ["orchestrator-server"]),
        .executable(name: "orchestrator", targets: ["orchestrator"]),
        .executable(name: "incident-worker", targets: ["incident-worker"]),
        .executable(name: "incident-starter", targets: ["incident-starter"]),
        .library(name: "OrchestratorProtocol", targets: ["OrchestratorProtocol"]),
        .library(name: "OrchestratorClient", targets: ["OrchestratorClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // The wire protocol: frames, messages, events, commands, error codes. Knows nothing of NIO.
        .target(name: "OrchestratorProtocol"),
        // Process-wide SQLite settings that need C (sqlite3_config is variadic).
        .target(name: "CSQLiteConfig", linkerSettings: [.linkedLibrary("sqlite3")]),
        // Persistence: the store protocol and its SQLite implementation (GRDB).
        .target(
            name: "OrchestratorStore",
            dependencies: [
                "OrchestratorProtocol",
                "CSQLiteConfig",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // Executions, task queues, timers, sticky routing, group commit. Knows nothing of sockets.
        .target(
            name: "OrchestratorEngine",
            dependencies: [
                "OrchestratorProtocol",
                "OrchestratorStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // NIO channel handlers shared by the server and the client: framing, addresses.
        .target(
            name: "OrchestratorTransport",
            dependencies: [
                "OrchestratorProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Listeners, connections, handshake, the server service.
        .target(
            name: "OrchestratorServer",
            dependencies: [
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                "OrchestratorProtocol",
                "OrchestratorEngine",
                "OrchestratorStore",
                "OrchestratorTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The async client used by CLIs, workers and tests.
        .target(
            name: "OrchestratorClient",
            dependencies: [
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                "OrchestratorProtocol",
                "OrchestratorTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The author API (Workflow, WorkflowContext, activities) and the deterministic replay runtime.
        .target(
            name: "Workflows",
            dependencies: [
                "OrchestratorProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // Pollers, the workflow cache, the activity executor, reconnects, graceful shutdown.
        .target(
            name: "WorkerRuntime",
            dependencies: [
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "DequeModule", package: "swift-collections"),
                "Workflows",
                "OrchestratorClient",
                "OrchestratorProtocol",
                "OrchestratorTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The incident workflow, its signals and query, and the notification activity and sink.
        .target(
            name: "Incidents",
            dependencies: ["Workflows", "OrchestratorProtocol"]
        ),
        // What the executables share: address/output options, log setup, error printing.
        .target(
            name: "OrchestratorCLISupport",
            dependencies: [
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                "OrchestratorProtocol",
                "OrchestratorClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "orchestrator-server",
            dependencies: [
                "OrchestratorServer",
                "OrchestratorCLISupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "orchestrator",
            dependencies: [
                "OrchestratorClient",
                "OrchestratorCLISupport",
                "OrchestratorProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "incident-worker",
            dependencies: [
                "Incidents",
                "WorkerRuntime",
                "OrchestratorCLISupport",
                "OrchestratorTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "incident-starter",
            dependencies: [
                "Incidents",
                "Workflows",
                "OrchestratorClient",
                "OrchestratorCLISupport",
                "OrchestratorProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "incident-chaos",
            dependencies: [
                "Incidents",
                "Workflows",
                "OrchestratorClient",
                "OrchestratorProtocol",
                "OrchestratorTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "orchestrator-bench",
            dependencies: [
                "Incidents",
                "Workflows",
                "OrchestratorClient",
                "OrchestratorTransport",
                "OrchestratorEngine",
                "OrchestratorStore",
                "OrchestratorProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Helpers for tests of this package and of users' workers: an in-process server, a raw socket.
        .target(
            name: "OrchestratorTesting",
            dependencies: [
                "OrchestratorProtocol",
                "OrchestratorServer",
                "OrchestratorClient",
                "OrchestratorEngine",
                "OrchestratorTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "OrchestratorProtocolTests",
            dependencies: [
                "OrchestratorProtocol",
                "OrchestratorTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "OrchestratorStoreTests",
            dependencies: [
                "OrchestratorStore", "OrchestratorProtocol", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "OrchestratorEngineTests",
            dependencies: [
                "OrchestratorTesting", "OrchestratorClient", "OrchestratorProtocol", "OrchestratorEngine",
                "OrchestratorServer", "OrchestratorStore", "OrchestratorTransport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "OrchestratorServerTests",
            dependencies: [
                "OrchestratorTesting", "OrchestratorClient", "OrchestratorProtocol", "OrchestratorServer",
                "OrchestratorTransport", "WorkerRuntime", "Incidents", "Workflows",
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "WorkflowsTests",
            dependencies: [
                "Workflows", "WorkerRuntime", "Incidents", "OrchestratorTesting", "OrchestratorClient",
                "OrchestratorProtocol", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "OrchestratorTesting", "OrchestratorClient", "OrchestratorProtocol", "OrchestratorTransport",
                "orchestrator-server", "orchestrator", "incident-worker", "incident-starter",
                "orchestrator-bench",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
