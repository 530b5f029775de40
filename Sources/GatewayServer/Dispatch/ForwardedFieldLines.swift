import NIOCore

/// The field lines of an upstream response head that the gateway forwards, gathered while
/// `UpstreamResponseParser` reads the head: `name: value\r\n` each (`UpstreamResponseHead.fields`).
///
/// A backend's lines mostly read that way already and follow each other, the hop-by-hop ones
/// (`Connection`, `Keep-Alive`) last: as long as that holds, the kept lines are one run of the
/// head's own bytes, handed on as a slice of the buffer they arrived in, with nothing allocated or
/// copied. The first kept line that does not join the run (one after a dropped line, or one with
/// other spacing or a bare LF) makes a buffer of their own, and the lines go there.
struct ForwardedFieldLines {
    /// Kept lines not copied yet: where in the head they are, one after another, each already
    /// `name: value\r\n`.
    private(set) var run = 0..<0
    /// The kept lines before `run`, once a line could not join it.
    private(set) var copied: ByteBuffer?

    /// Keeps the line at `line` in `head` (its CRLF included), which reads `name: value\r\n`.
    mutating func keep(_ line: Range<Int>, of head: UnsafeBufferPointer<UInt8>) {
        if run.isEmpty {
            run = line
        } else if run.upperBound == line.lowerBound {
            run = run.lowerBound..<line.upperBound
        } else {
            copyRun(of: head)
            run = line
        }
    }

    /// Keeps a line written as `name: value\r\n` (it reads otherwise in the head).
    mutating func keep(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>, of head: UnsafeBufferPointer<UInt8>) {
        copyRun(of: head)
        copied!.writeBytes(UnsafeRawBufferPointer(name))
        copied!.writeStaticString(": ")
        copied!.writeBytes(UnsafeRawBufferPointer(value))
        copied!.writeStaticString("\r\n")
    }

    /// Moves `run` into `copied` (made on first use).
    private mutating func copyRun(of head: UnsafeBufferPointer<UInt8>) {
        if copied == nil { copied = ByteBufferAllocator().buffer(capacity: max(512, 2 * run.count)) }
        guard !run.isEmpty else { return }
        copied!.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: head[run])))
        run = 0..<0
    }

    /// Ends the gathering: a copy once started takes the rest of the run too.
    mutating func finish(of head: UnsafeBufferPointer<UInt8>) {
        if copied != nil { copyRun(of: head) }
    }

    /// Drops the lines whose name a `Connection` value lists (`named`, RFC 9110 §7.6.1), after
    /// `finish`: the lines left are copied.
    mutating func remove(named: [String], of head: UnsafeBufferPointer<UInt8>) {
        copyRun(of: head)
        let left = copied!.withUnsafeMutableReadableBytes { Self.removeLines(named: named, from: $0) }
        copied!.moveWriterIndex(to: copied!.readerIndex + left)
    }

    /// The kept lines, after `finish`; `buffer`'s readable bytes start with the head.
    func lines(in buffer: ByteBuffer) -> ByteBuffer {
        copied ?? buffer.getSlice(at: buffer.readerIndex + run.lowerBound, length: run.count)!
    }

    /// Drops the `name: value\r\n` lines of `fields` whose name a `Connection` value lists,
    /// moving the others up; returns the bytes left.
    private static func removeLines(named: [String], from fields: UnsafeMutableRawBufferPointer) -> Int {
        let bytes = UnsafeBufferPointer(fields.bindMemory(to: UInt8.self))
        var write = 0
        // Kept lines only move towards the start, behind the line being read.
        UpstreamResponseHead.forEachLine(bytes) { name, _, end in
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[name]), as: UTF8.self)
            guard !named.contains(where: { HeaderRules.tokenList($0, contains: text) }) else { return }
            let line = name.lowerBound..<end
            if write != line.lowerBound {
                UnsafeMutableRawBufferPointer(rebasing: fields[write..<(write + line.count)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: fields[line]))
            }
            write += line.count
        }
        return write
    }
}
