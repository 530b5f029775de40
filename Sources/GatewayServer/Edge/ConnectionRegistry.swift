import Atomics
import NIOConcurrencyHelpers
import NIOCore

/// Every open client connection of the process, so that idle sockets can never use up the
/// descriptors: at `limit` the listeners stop accepting, and the oldest connections that have not
/// completed a request are closed to make room; accepting resumes below the limit. Also the list
/// of connections that shutdown closes.
final class ConnectionRegistry: Sendable {
    /// One client connection. `served` is set once it completed a request (any stream, for HTTP/2).
    final class Record: Sendable {
        let id: UInt64
        let channel: any Channel
        let opened: NIODeadline
        /// The client's address as text, made once per connection: every request (each HTTP/2
        /// stream too) reads it for its `X-Forwarded-For` and log line.
        let remoteIP: String
        private let servedFlag = ManagedAtomic(false)
        /// Requests (HTTP/2: streams) begun and not yet ended on this connection.
        private let activeCount = ManagedAtomic(0)
        private let quiescingFlag = ManagedAtomic(false)
        private let http2Flag = ManagedAtomic(false)

        init(id: UInt64, channel: any Channel, opened: NIODeadline, remoteIP: String) {
            self.id = id
            self.channel = channel
            self.opened = opened
            self.remoteIP = remoteIP
        }

        var served: Bool { servedFlag.load(ordering: .relaxed) }

        func markServed() {
            if !servedFlag.load(ordering: .relaxed) { servedFlag.store(true, ordering: .relaxed) }
        }

        func began() { activeCount.wrappingIncrement(ordering: .relaxed) }
        func ended() { activeCount.wrappingDecrement(ordering: .relaxed) }
        var active: Int { activeCount.load(ordering: .relaxed) }

        /// The gateway drains: the connection closes once its requests in flight are answered.
        var isQuiescing: Bool { quiescingFlag.load(ordering: .relaxed) }
        func quiesce() { quiescingFlag.store(true, ordering: .relaxed) }

        var isHTTP2: Bool { http2Flag.load(ordering: .relaxed) }
        func markHTTP2() { http2Flag.store(true, ordering: .relaxed) }
    }

    private struct State {
        var records: [UInt64: Record] = [:]
        /// Connections closed to make room, not yet gone.
        var evicting: Set<UInt64> = []
        var nextID: UInt64 = 0
        var accepting = true
        var listeners: [any Channel] = []
    }

    let limit: Int
    private let state = NIOLockedValueBox(State())

    init(limit: Int) {
        self.limit = limit
    }

    var count: Int { state.withLockedValue { $0.records.count } }

    func addListener(_ channel: any Channel) {
        state.withLockedValue { $0.listeners.append(channel) }
    }

    /// Registers a new connection; removes it again when it closes.
    @discardableResult
    func register(_ channel: any Channel) -> Record {
        let remoteIP = channel.remoteAddress?.ipAddress ?? "127.0.0.1"
        let (record, victims, pause) = state.withLockedValue { state -> (Record, [Record], [any Channel]) in
            state.nextID &+= 1
            let record = Record(id: state.nextID, channel: channel, opened: .now(), remoteIP: remoteIP)
            state.records[record.id] = record
            var victims: [Record] = []
            let excess = state.records.count - state.evicting.count - limit + 1
            for _ in 0..<max(0, excess) {
                // The oldest connection that has not completed a request (one linear pass: this
                // only runs at the limit).
                var oldest: Record?
                for candidate in state.records.values
                where !candidate.served && candidate.id != record.id && !state.evicting.contains(candidate.id) {
                    if oldest == nil || candidate.opened < oldest!.opened { oldest = candidate }
                }
                guard let victim = oldest else { break }
                state.evicting.insert(victim.id)
                victims.append(victim)
            }
            var pause: [any Channel] = []
            if state.records.count >= limit && state.accepting {
                state.accepting = false
                pause = state.listeners
            }
            return (record, victims, pause)
        }
        for listener in pause { listener.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }
        for victim in victims { victim.channel.close(promise: nil) }
        channel.closeFuture.whenComplete { [self] _ in remove(record) }
        return record
    }

    private func remove(_ record: Record) {
        let resume = state.withLockedValue { state -> [any Channel] in
            state.records[record.id] = nil
            state.evicting.remove(record.id)
            guard !state.accepting, state.records.count < limit else { return [] }
            state.accepting = true
            return state.listeners
        }
        for listener in resume where listener.isActive {
            listener.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        }
    }

    /// The connections open now.
    func all() -> [Record] {
        state.withLockedValue { Array($0.records.values) }
    }
}
