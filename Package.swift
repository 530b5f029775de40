// swift-tools-version: 6.1
import PackageDescription

// The flow, one target per room:
//   GatewayCore         JSON values, durations, throttles and quota periods, the error contract (no dependencies)
//   GatewayResilience   upstream health, outlier ejection, target choice, retry budgets, circuit limits (pure, injected clock)
//   GatewayMigration    route migrations: response comparison, mismatch reports, stages, rollback, sticky canary (pure)
//   GatewayWorkers      a function's warm worker processes as a pure state machine (slots, queue, restarts, draining)
//   GatewayPlan         gateway.yaml + OpenAPI documents -> immutable Plan, Router (OpenAPIKit, Yams)
//   GatewayFunctions    the function protocol and registry; AWS's shapes (AWS/: function events and answers, authorizer events)
//   FlightExample       the example flight-monitoring functions
//   GatewayAuthorizers  authorizer verdicts, IAM policies, the LRU + single-flight cache, JWT claim checks (pure)
//   GatewayValidation   JSON Schema (2020-12 and the OpenAPI 3.0 schema object) compiled once into validators
//   GatewayPolicies     API key format, key snapshot, token buckets and quotas (pure, injected clock)
//   GatewayRedis        a small Redis client on SwiftNIO: RESP2/RESP3, one pipelined connection per event loop
//   GatewayStore        the state store behind one protocol: the embedded SQLite file (GRDB) or Redis, shared by instances
//   GatewayCertificates the development CA (swift-certificates)
//   GatewayCallouts     authorizer callouts (AsyncHTTPClient, local functions) and JWT verification (jwt-kit)
//   GatewayServer       the NIO data plane: TLS, HTTP/1.1 + HTTP/2, phases, upstream pools, dispatch,
//                       worker processes behind the Lambda Runtime API (Workers/, swift-subprocess)
//   GatewayCommand      the `gateway` executable (argument parsing only)

// The request path's targets are built for release without Swift's run-time exclusivity checks
// (each read or write of a class's stored property, a global or a captured variable that the
// compiler cannot prove free of overlap calls into the runtime: about 6% of a pass-through
// request's instructions). Debug builds, which the tests run, keep the checks, so an overlapping
// access still traps in every test; the compile-time checks stay on everywhere. README,
// "Run-time exclusivity checks".
let dataPlane: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gateway", targets: ["GatewayCommand"]),
        .executable(name: "policy-bench", targets: ["PolicyBenchmark"]),
        .executable(name: "validation-bench", targets: ["ValidationBenchmark"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/mattpolzin/OpenAPIKit.git", from: "6.4.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .target(name: "GatewayCore", swiftSettings: dataPlane),
        .target(name: "GatewayAuthorizers", dependencies: ["GatewayCore"], swiftSettings: dataPlane),
        .target(name: "GatewayResilience", dependencies: [.product(name: "Atomics", package: "swift-atomics")]),
        .target(name: "GatewayMigration", dependencies: ["GatewayCore"]),
        .target(name: "GatewayWorkers"),
        .target(
            name: "GatewayPlan",
            dependencies: [
                "GatewayCore", "GatewayAuthorizers", "GatewayValidation", "GatewayResilience", "GatewayMigration", "GatewayRedis",
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
                .product(name: "OpenAPIKit30", package: "OpenAPIKit"),
                .product(name: "OpenAPIKitCompat", package: "OpenAPIKit"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: dataPlane
        ),
        .target(name: "GatewayValidation", dependencies: ["GatewayCore"], swiftSettings: dataPlane),
        .target(
            name: "GatewayPolicies",
            dependencies: ["GatewayCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: dataPlane
        ),
        .target(
            name: "GatewayRedis",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "GatewayStore",
            dependencies: [
                "GatewayCore", "GatewayPolicies", "GatewayMigration", "GatewayRedis",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(name: "GatewayFunctions", dependencies: ["GatewayCore", .product(name: "Logging", package: "swift-log")]),
        .target(name: "FlightExample", dependencies: ["GatewayCore", "GatewayFunctions"]),
        .target(
            name: "GatewayCertificates",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .target(
            name: "GatewayCallouts",
            dependencies: [
                "GatewayCore", "GatewayAuthorizers", "GatewayFunctions",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "GatewayServer",
            dependencies: [
                "GatewayCore", "GatewayPlan", "GatewayFunctions", "GatewayPolicies", "GatewayStore",
                "GatewayAuthorizers", "GatewayCallouts", "GatewayValidation", "GatewayResilience", "GatewayMigration",
                "GatewayWorkers", "GatewayRedis",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: dataPlane
        ),
        .executableTarget(
            name: "GatewayCommand",
            dependencies: [
                "GatewayCore", "GatewayPlan", "GatewayFunctions", "FlightExample",
                "GatewayCertificates", "GatewayServer", "GatewayPolicies", "GatewayStore", "GatewayMigration", "GatewayRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "PolicyBenchmark",
            dependencies: [
                "GatewayCore", "GatewayPolicies", "GatewayAuthorizers", "GatewayCallouts", "GatewayFunctions", "GatewayMigration",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "GatewayPlanTests", dependencies: ["GatewayPlan", "GatewayCore", "GatewayAuthorizers", "GatewayValidation", "GatewayResilience", "GatewayMigration"]),
        .testTarget(
            name: "GatewayRedisTests",
            dependencies: [
                "GatewayRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "GatewayResilienceTests", dependencies: ["GatewayResilience"]),
        .testTarget(name: "GatewayWorkersTests", dependencies: ["GatewayWorkers"]),
        .testTarget(name: "GatewayMigrationTests", dependencies: ["GatewayMigration", "GatewayCore"]),
        .testTarget(name: "GatewayAuthorizersTests", dependencies: ["GatewayAuthorizers", "GatewayCore", "GatewayFunctions"]),
        .executableTarget(name: "ValidationBenchmark", dependencies: ["GatewayCore", "GatewayValidation"]),
        .testTarget(name: "GatewayValidationTests", dependencies: ["GatewayCore", "GatewayValidation"]),
        .testTarget(name: "GatewayPoliciesTests", dependencies: ["GatewayCore", "GatewayPolicies", "GatewayStore"]),
        .testTarget(
            name: "GatewayServerTests",
            dependencies: [
                "GatewayServer", "GatewayPlan", "GatewayFunctions", "FlightExample", "GatewayValidation", "GatewayPolicies", "GatewayCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        .testTarget(
            name: "GatewayEndToEndTests",
            dependencies: [
                "GatewayCore", "GatewayServer", "GatewayPlan", "GatewayFunctions", "FlightExample", "GatewayCertificates",
                "GatewayPolicies", "GatewayStore", "GatewayResilience", "GatewayMigration", "GatewayRedis",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
