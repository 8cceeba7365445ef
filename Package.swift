// swift-tools-version: 6.0
import PackageDescription

// One module per pipeline stage; each imports only the stages before it.
let package = Package(
    name: "Redress",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "redress", targets: ["redress"]),
        .library(name: "RedressSyntax", targets: ["RedressSyntax"]),
        .library(name: "RedressSemantics", targets: ["RedressSemantics"]),
        .library(name: "RedressIR", targets: ["RedressIR"]),
        .library(name: "RedressEvents", targets: ["RedressEvents"]),
        .library(name: "RedressEngine", targets: ["RedressEngine"]),
        .library(name: "RedressState", targets: ["RedressState"]),
        .library(name: "RedressRuntime", targets: ["RedressRuntime"]),
        .library(name: "RedressSimulation", targets: ["RedressSimulation"]),
        .library(name: "RedressReview", targets: ["RedressReview"]),
        .library(name: "RedressLanguageServices", targets: ["RedressLanguageServices"]),
        .library(name: "RedressService", targets: ["RedressService"]),
        .library(name: "RedressStudio", targets: ["RedressStudio"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // The server stack of `redress serve` and `redress studio`: HTTP, startup and graceful
        // shutdown, structured logs, Prometheus metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(name: "RedressSyntax"),
        .target(
            name: "RedressSemantics",
            dependencies: ["RedressSyntax", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "RedressIR", dependencies: ["RedressSyntax", "RedressSemantics"]),
        // Events as they arrive: JSON lines, CSV through a mapping, event time; the exact decimals
        // and UTF-8 checks both readers share. Semantics for the one bounded YAML reader (mappings).
        .target(
            name: "RedressEvents",
            dependencies: ["RedressIR", "RedressSemantics", "RedressSyntax", .product(name: "Yams", package: "Yams")],
            // The readers touch their own class state per line; dynamic exclusivity checks showed
            // as 2% of `simulate` in perf (swift::runtime::AccessSet). Each reader is used by one
            // thread at a time (every parsing thread has its own).
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        // Evaluation: the compiled conditions, the engine (dispatch, policies, history, deadlines,
        // screening), decisions and explanations.
        .target(
            name: "RedressEngine",
            dependencies: ["RedressEvents", "RedressIR"],
            // The evaluator's inner loop touches class state per event; dynamic exclusivity
            // checks cost about 5% of `run` (measured with perf). Safety: that state is only
            // ever used from one thread (the pipeline hands whole batches across).
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        // The durable state: the engine's state and checkpoints in SQLite (GRDB).
        .target(
            name: "RedressState",
            dependencies: ["RedressEngine", "RedressEvents", "RedressIR", .product(name: "GRDB", package: "GRDB.swift"),
                           // SQLite's own interface, for the rows a checkpoint writes (`RowStatement`).
                           .product(name: "GRDBSQLite", package: "GRDB.swift")]
        ),
        // Running over event sources: the reading pipelines that feed the engine, and output.
        .target(
            name: "RedressRuntime",
            dependencies: ["RedressState", "RedressEngine", "RedressEvents", "RedressIR"],
            // The pipelines hand batches between threads under a lock and touch their state per
            // line in between; same reasoning as for the readers.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        .target(
            name: "RedressSimulation",
            dependencies: ["RedressRuntime", "RedressEngine", "RedressEvents", "RedressIR"],
            // The replay's counters (Tally) are class state touched per decision; same reasoning as above.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        // Rule changes under review (the CI tools): rule unit tests with coverage, and rule-set diffs with cost impact.
        .target(
            name: "RedressReview",
            dependencies: ["RedressSimulation", "RedressRuntime", "RedressEngine", "RedressEvents", "RedressIR", "RedressSemantics", "RedressSyntax", .product(name: "Yams", package: "Yams")]
        ),
        // What editors ask while rules are written (completion, hover, definitions, diagnostics
        // as you type), and the Language Server Protocol on top of it (`redress lsp`).
        .target(name: "RedressLanguageServices", dependencies: ["RedressSemantics", "RedressSyntax"]),
        // `redress serve`: live evaluation behind HTTP, with group-committed acknowledgements and a
        // durable outbox in the state's SQLite file.
        .target(
            name: "RedressService",
            dependencies: [
                "RedressSimulation", "RedressRuntime", "RedressState", "RedressEngine", "RedressEvents", "RedressIR",
                "RedressSemantics", "RedressSyntax",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The web workbench (`redress studio`): a JSON API over the language services, rule tests,
        // explanations, simulation and diffs, and the page itself. The page's files in Page/ are
        // compiled into the binary (`embedInCode`), so it serves them with nothing beside it.
        .target(
            name: "RedressStudio",
            dependencies: [
                "RedressLanguageServices", "RedressReview", "RedressSimulation", "RedressRuntime", "RedressEngine", "RedressEvents",
                "RedressIR", "RedressSemantics", "RedressSyntax",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("Page/index.html"), .embedInCode("Page/studio.css"), .embedInCode("Page/studio.js")]
        ),
        .executableTarget(
            name: "redress",
            dependencies: [
                "RedressSyntax", "RedressSemantics", "RedressIR", "RedressEvents", "RedressEngine", "RedressState", "RedressRuntime",
                "RedressSimulation", "RedressReview", "RedressLanguageServices", "RedressService", "RedressStudio",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Speed measurements; run in release mode (see Benchmarks/README.md). Never part of the tests.
        .target(name: "GeneratedRuleSet", path: "Benchmarks/GeneratedRuleSet"),
        .executableTarget(name: "CheckBenchmark", dependencies: ["GeneratedRuleSet", "RedressSemantics"], path: "Benchmarks/CheckBenchmark"),
        .executableTarget(name: "LanguageBenchmark", dependencies: ["GeneratedRuleSet", "RedressLanguageServices", "RedressSemantics", "RedressSyntax"],
                          path: "Benchmarks/LanguageBenchmark"),
        .executableTarget(name: "GenerateEvents", path: "Benchmarks/GenerateEvents"),
        // The load client of Benchmarks/serve_load.py (lighter than wrk's Lua on the same two cores).
        .executableTarget(name: "ServeLoad", path: "Benchmarks/ServeLoad"),
        .executableTarget(name: "RunBenchmark", dependencies: ["RedressRuntime", "RedressEngine", "RedressEvents", "RedressIR", "RedressSemantics", "RedressSimulation"], path: "Benchmarks/RunBenchmark"),
        .testTarget(name: "SyntaxTests", dependencies: ["RedressSyntax"], exclude: ["Fixtures"]),
        .testTarget(name: "SemanticsTests", dependencies: ["RedressSemantics"], exclude: ["Fixtures"]),
        .testTarget(name: "IRTests", dependencies: ["RedressIR"]),
        .testTarget(name: "RuntimeTests", dependencies: [
            "RedressRuntime", "RedressState", "RedressEngine", "RedressEvents", "RedressIR", "RedressSemantics",
            .product(name: "PropertyBased", package: "swift-property-based"),
            // The state store's tests write a state in an earlier layout.
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "SimulationTests", dependencies: ["RedressSimulation", "RedressRuntime", "RedressEngine", "RedressEvents", "RedressIR", "RedressSemantics"]),
        .testTarget(name: "ReviewTests", dependencies: ["RedressReview", "RedressSimulation", "RedressRuntime", "RedressEngine", "RedressEvents", "RedressIR", "RedressSemantics", "RedressSyntax"], exclude: ["Fixtures"]),
        .testTarget(name: "LanguageServicesTests", dependencies: ["RedressLanguageServices", "RedressSemantics", "RedressSyntax"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "ServiceTests", dependencies: [
            "RedressService", "RedressRuntime", "RedressState", "RedressEngine", "RedressEvents", "RedressIR", "RedressSemantics", "RedressSyntax",
            // A test changes the state file by hand (an outbox row deleted).
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "StudioTests", dependencies: [
            "RedressStudio", "RedressLanguageServices", "RedressReview", "RedressSimulation", "RedressSemantics", "RedressSyntax",
        ]),
        // Browser/ holds the Selenium walkthrough the browser test runs with Python.
        .testTarget(name: "EndToEndTests", dependencies: ["RedressSyntax", "RedressSemantics"], exclude: ["Browser"]),
    ]
)
