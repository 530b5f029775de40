import AsyncHTTPClient
import Foundation
import GatewayCore
import NIOCore
import Testing

/// `logs.format: json` through the real binary: every line is a JSON object, access lines carry
/// the documented fields, and no credential sent in a request appears anywhere in the log.
@Suite struct LogsBinaryTests {
    @Test func jsonLogsCarryTheAccessFieldsAndNoCredential() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let backend = try await FakeBackend.start()
        let port = try TestFolder.closedPort()
        try folder.write("gateway.yaml", """
        listen: {http: 127.0.0.1:\(port)}
        state: \(folder.path)/state.sqlite
        logs: {format: json}
        upstreams: {legacy: {targets: ['http://127.0.0.1:\(backend.port)']}}
        default: {upstream: legacy}
        plans: {basic: {rate: 100, burst: 100}}
        """)
        try folder.write("api.yaml", """
        openapi: 3.0.3
        info: {title: logs, version: '1'}
        components:
          securitySchemes:
            inQuery: {type: apiKey, in: query, name: k}
            inHeader: {type: apiKey, in: header, name: x-api-key}
        paths:
          /q:
            get: {operationId: byQuery, security: [{inQuery: []}], responses: {'200': {description: ok}}}
          /h:
            get: {operationId: byHeader, security: [{inHeader: []}], responses: {'200': {description: ok}}}
        """)
        let log = folder.path + "/gateway.log"
        let process = try GatewayBinary.serve(config: folder.config, log: log, logLevel: "info")
        defer { GatewayBinary.stop(process); Task { await backend.stop() } }
        try await GatewayBinary.waitForPort(port)

        let secrets = ["gw_querysecret000000000000000001", "gw_headersecret00000000000000002", "bearer-secret-3",
                       "cookie-secret-4", "apikey-secret-5", "token-secret-6"]
        let base = "http://127.0.0.1:\(port)"
        var first = HTTPClientRequest(url: base + "/q?k=\(secrets[0])&page=2&api_key=\(secrets[4])&Token=\(secrets[5])")
        first.headers.add(name: "user-agent", value: "logs-test/1")
        let a = try await HTTPClient.shared.execute(first, timeout: .seconds(10))
        #expect(a.status == .forbidden)
        let idA = try #require(a.headers.first(name: "x-request-id"))
        var second = HTTPClientRequest(url: base + "/h")
        second.headers.add(name: "x-api-key", value: secrets[1])
        second.headers.add(name: "authorization", value: "Bearer \(secrets[2])")
        second.headers.add(name: "cookie", value: "session=\(secrets[3])")
        let b = try await HTTPClient.shared.execute(second, timeout: .seconds(10))
        #expect(b.status == .forbidden)
        let c = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/legacy/page?x=1"), timeout: .seconds(10))
        #expect(c.status == .ok)

        var lines: [JSONValue] = []
        try await TestFolder.eventually {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.contains("/legacy/page")
        }
        let text = try String(contentsOfFile: log, encoding: .utf8)
        for line in text.split(separator: "\n") {
            let value = try #require(try? JSONValue.parse(Data(line.utf8)), "not JSON: \(line)")
            lines.append(value)
        }
        #expect(lines.contains { $0["message"]?.stringValue == "listening" }, "the gateway's notices are JSON lines too")
        let access = try #require(lines.first { $0["requestId"]?.stringValue == idA })
        #expect(access["method"] == "GET")
        #expect(access["route"] == "byQuery")
        #expect(access["path"] == "/q")
        #expect(access["status"] == 403)
        #expect(access["remoteIp"] == "127.0.0.1")
        #expect(access["userAgent"] == "logs-test/1")
        #expect(access["query"] == "k=REDACTED&page=2&api_key=REDACTED&Token=REDACTED")
        #expect(access["durationMs"]?.doubleValue != nil)
        #expect(access["bytesOut"]?.doubleValue ?? 0 > 0)
        #expect(access["time"]?.stringValue?.hasSuffix("Z") == true)
        let proxied = try #require(lines.first { $0["path"]?.stringValue == "/legacy/page" })
        #expect(proxied["route"] == "default")
        #expect(proxied["upstreamMs"]?.doubleValue != nil)
        #expect(proxied["target"]?.stringValue?.hasPrefix("upstream:legacy") == true)
        for secret in secrets {
            #expect(!text.contains(secret), "\(secret) leaked into the log")
        }
    }
}
