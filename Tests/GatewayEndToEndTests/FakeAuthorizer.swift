import Foundation
import GatewayCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP authorizer on loopback that counts its calls and answers by the identity it is asked
/// about (the TOKEN event's `authorizationToken`, or the REQUEST event's first identity source):
/// - `allow…`: `{"isAuthorized": true, "context": {"tenant": …, "tier": "gold"}}`
/// - `deny…`: `{"isAuthorized": false}`
/// - `policy…`: an IAM policy allowing only `GET …/authz/policy-ok`, with principalId `policy-user`
/// - `explicit…`: an IAM policy with an explicit Deny on everything
/// - `slow…`: allows after 2 seconds
/// - `error…`: 500; `garbage…`: 200 with `{"hello": 1}`; `unauthorized…`: 401
/// `GET /jwks` serves `jwks` (settable), counting fetches.
final class FakeAuthorizer: Sendable {
    let channel: any Channel
    private let state: NIOLockedValueBox<State>

    struct State {
        var calls: [String: Int] = [:]
        var events: [JSONValue] = []
        var jwks = #"{"keys":[]}"#
        var jwksFetches = 0
    }

    var port: Int { channel.localAddress!.port! }
    var url: String { "http://127.0.0.1:\(port)/authorize" }
    var jwksURL: String { "http://127.0.0.1:\(port)/jwks" }

    func calls(_ identity: String) -> Int { state.withLockedValue { $0.calls[identity] ?? 0 } }
    var totalCalls: Int { state.withLockedValue { $0.calls.values.reduce(0, +) } }
    var lastEvent: JSONValue? { state.withLockedValue { $0.events.last } }
    var jwksFetches: Int { state.withLockedValue { $0.jwksFetches } }
    func setJWKS(_ text: String) { state.withLockedValue { $0.jwks = text } }

    static func start() async throws -> FakeAuthorizer {
        let state = NIOLockedValueBox(State())
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AuthorizerHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakeAuthorizer(channel: channel, state: state)
    }

    private init(channel: any Channel, state: NIOLockedValueBox<State>) {
        self.channel = channel
        self.state = state
    }

    func stop() async { try? await channel.close() }

    final class AuthorizerHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let state: NIOLockedValueBox<State>
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(state: NIOLockedValueBox<State>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
                body.clear()
            case .body(var b):
                body.writeBuffer(&b)
            case .end:
                guard let head else { return }
                if head.uri == "/jwks" {
                    let text = state.withLockedValue { s -> String in
                        s.jwksFetches += 1
                        return s.jwks
                    }
                    write(context, status: .ok, text)
                    return
                }
                let event = (try? JSONValue.parse(Data(body.readableBytesView))) ?? .null
                let identity = event["authorizationToken"]?.stringValue
                    ?? event["identitySource"]?.arrayValue?.first?.stringValue ?? ""
                state.withLockedValue {
                    $0.calls[identity, default: 0] += 1
                    $0.events.append(event)
                }
                answer(context, identity: identity)
            }
        }

        private func answer(_ context: ChannelHandlerContext, identity: String) {
            let name = identity.hasPrefix("Bearer ") ? String(identity.dropFirst(7)) : identity
            if name.hasPrefix("slow") {
                context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
                    self.write(context, status: .ok, #"{"isAuthorized":true}"#)
                }
            } else if name.hasPrefix("allow") {
                write(context, status: .ok, #"{"isAuthorized":true,"context":{"tenant":"\#(name)","tier":"gold"}}"#)
            } else if name.hasPrefix("deny") {
                write(context, status: .ok, #"{"isAuthorized":false}"#)
            } else if name.hasPrefix("policy") {
                write(context, status: .ok, """
                {"principalId":"policy-user","policyDocument":{"Version":"2012-10-17","Statement":[
                 {"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/authz/policy-ok"}]},
                 "context":{"plan":"p1"}}
                """)
            } else if name.hasPrefix("explicit") {
                write(context, status: .ok, """
                {"principalId":"x","policyDocument":{"Statement":[
                 {"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"},
                 {"Effect":"Deny","Action":"execute-api:*","Resource":"*"}]}}
                """)
            } else if name.hasPrefix("garbage") {
                write(context, status: .ok, #"{"hello":1}"#)
            } else if name.hasPrefix("unauthorized") {
                write(context, status: .unauthorized, #"{"message":"no"}"#)
            } else {
                write(context, status: .internalServerError, #"{"message":"boom"}"#)
            }
        }

        private func write(_ context: ChannelHandlerContext, status: HTTPResponseStatus, _ text: String) {
            let headers = HTTPHeaders([("content-type", "application/json"), ("content-length", "\(text.utf8.count)")])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
