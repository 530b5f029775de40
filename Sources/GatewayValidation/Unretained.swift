/// A reference that does not retain its object, for the links of the compiled tree that
/// validation follows (node -> keyword -> child node).
///
/// Validation is mostly walking these links, and reading a strong reference out of an array or a
/// property costs a retain and a release each time (about a fifth of `isValid`'s time on a
/// typical request body before this). The links cannot dangle: the `NodeGraph` owns every node of
/// a compilation and each node its keywords, strongly, for as long as a validator uses them, so
/// the strong references stay where they were and these are only a second, cheaper view.
struct Unretained<Object: AnyObject>: @unchecked Sendable {
    private let reference: Unmanaged<Object>

    init(_ object: Object) { reference = .passUnretained(object) }

    /// Runs `body` with the object, without retaining it.
    @inline(__always)
    func with<T>(_ body: (Object) -> T) -> T { reference._withUnsafeGuaranteedRef(body) }
}
