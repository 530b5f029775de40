/// Finds HTTP/2 frame boundaries in a byte stream (RFC 9113 §4.1) without decoding the frames:
/// the connection guard runs one over what the client sends and one over what the gateway sends.
/// Pure: bytes in, frame headers out.
struct HTTP2FrameScanner {
    struct Frame: Equatable {
        var length: Int
        var type: UInt8
        var flags: UInt8
        var streamID: UInt32
        /// GOAWAY and RST_STREAM only: the error code (GOAWAY's second word, RST_STREAM's only
        /// one), when the payload holds it.
        var errorCode: UInt32?

        static let data: UInt8 = 0x0, headers: UInt8 = 0x1, priority: UInt8 = 0x2, rstStream: UInt8 = 0x3,
                   settings: UInt8 = 0x4, pushPromise: UInt8 = 0x5, ping: UInt8 = 0x6, goAway: UInt8 = 0x7,
                   windowUpdate: UInt8 = 0x8, continuation: UInt8 = 0x9
        static let endHeaders: UInt8 = 0x4, ack: UInt8 = 0x1

        var endsHeaderBlock: Bool { flags & Frame.endHeaders != 0 }
    }

    /// Bytes of the client connection preface still to skip (24 for the client's side, 0 for the server's).
    private var prefaceRemaining: Int
    /// The frame header (and, for GOAWAY, the first 8 payload bytes; for RST_STREAM, the first 4)
    /// being gathered.
    private var pending: [UInt8] = []
    private var pendingNeed = 9
    /// Payload bytes of the current frame still to skip.
    private var skipRemaining = 0

    init(skippingClientPreface: Bool) {
        prefaceRemaining = skippingClientPreface ? 24 : 0
        pending.reserveCapacity(17)
    }

    /// Feeds the next bytes; `onFrame` is called for every frame header completed by them.
    mutating func scan(_ bytes: UnsafeRawBufferPointer, _ onFrame: (Frame) -> Void) {
        var i = 0
        let count = bytes.count
        while i < count {
            if prefaceRemaining > 0 {
                let n = min(prefaceRemaining, count - i)
                prefaceRemaining -= n
                i += n
                continue
            }
            if skipRemaining > 0 {
                let n = min(skipRemaining, count - i)
                skipRemaining -= n
                i += n
                continue
            }
            pending.append(bytes[i])
            i += 1
            guard pending.count == pendingNeed else { continue }
            let length = Int(pending[0]) << 16 | Int(pending[1]) << 8 | Int(pending[2])
            let type = pending[3]
            if type == Frame.goAway && pendingNeed == 9 && length >= 8 {
                // Gather the last-stream-id and error code too.
                pendingNeed = 17
                continue
            }
            if type == Frame.rstStream && pendingNeed == 9 && length >= 4 {
                pendingNeed = 13
                continue
            }
            var frame = Frame(length: length, type: type, flags: pending[4],
                              streamID: (UInt32(pending[5]) << 24 | UInt32(pending[6]) << 16
                                  | UInt32(pending[7]) << 8 | UInt32(pending[8])) & 0x7FFF_FFFF)
            if pendingNeed == 17 {
                frame.errorCode = UInt32(pending[13]) << 24 | UInt32(pending[14]) << 16 | UInt32(pending[15]) << 8 | UInt32(pending[16])
                skipRemaining = length - 8
            } else if pendingNeed == 13 {
                frame.errorCode = UInt32(pending[9]) << 24 | UInt32(pending[10]) << 16 | UInt32(pending[11]) << 8 | UInt32(pending[12])
                skipRemaining = length - 4
            } else {
                skipRemaining = length
            }
            pending.removeAll(keepingCapacity: true)
            pendingNeed = 9
            onFrame(frame)
        }
    }
}
