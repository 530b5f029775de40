import GatewayCore
import GatewayMigration
import NIOCore
import NIOHTTP1

/// One answer kept for comparison: status, headers and at most `cap` bytes of body; `failure`
/// when the dispatch failed instead of answering.
struct CapturedResponse {
    var status = 0
    var headers: [(String, String)] = []
    var body: [UInt8] = []
    var truncated = false
    var failure: String?

    mutating func head(_ head: HTTPResponseHead) {
        status = Int(head.status.code)
        headers = head.headers.map { ($0.name, $0.value) }
    }

    mutating func append(_ buffer: ByteBuffer, cap: Int) {
        guard !truncated else { return }
        if body.count + buffer.readableBytes > cap {
            truncated = true
            return
        }
        body.append(contentsOf: buffer.readableBytesView)
    }

    var comparable: ResponseComparer.Response {
        ResponseComparer.Response(status: status, headers: headers, body: body)
    }
}

/// A sink that keeps what a dispatch answers (a shadow copy, or legacy's second answer) and
/// calls `done` once when it ended or failed.
final class CaptureSink: DispatchSink {
    private(set) var response = CapturedResponse()
    private let cap: Int
    private var done: ((CapturedResponse) -> Void)?

    init(cap: Int, done: @escaping (CapturedResponse) -> Void) {
        self.cap = cap
        self.done = done
    }

    var downstreamIsWritable: Bool { true }
    func dispatch(_ id: UInt64, head: consuming HTTPResponseHead) { response.head(head) }
    func dispatch(_ id: UInt64, body: ByteBuffer) { response.append(body, cap: cap) }
    func dispatchEnded(_ id: UInt64) { finish() }

    func dispatch(_ id: UInt64, failed error: GatewayError, reason: String) {
        response.status = error.status
        response.failure = reason
        finish()
    }

    func dispatch(_ id: UInt64, writable: Bool) {}
    func dispatchFlush(_ id: UInt64) {}

    private func finish() {
        let done = self.done
        self.done = nil
        done?(response)
    }
}
