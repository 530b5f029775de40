/// The end-of-exchange hook: called exactly once for every request — answered by a function, an
/// upstream or the gateway itself, refused at the edge, or cut short when the client or the
/// backend went away. Access logs (and metrics, traces and outcome feeds) hang from it.
protocol ExchangeObserver: Sendable {
    /// On the request's event loop; `local` is that loop's state (nil only in unit tests).
    func exchangeEnded(_ request: RequestContext, local: LoopLocal?)
}

/// Several observers, in order.
struct ObserverChain: ExchangeObserver {
    let observers: [any ExchangeObserver]

    func exchangeEnded(_ request: RequestContext, local: LoopLocal?) {
        for observer in observers { observer.exchangeEnded(request, local: local) }
    }
}
