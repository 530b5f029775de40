import GatewayCore

/// Per-validation mutable state, passed `inout` down the compiled tree. Nothing in it allocates
/// on the `isValid` fast path: errors and the instance path are only built when collecting.
struct ValidationState {
    /// Whether errors are being recorded (false inside `anyOf`, `not`, `if`, ... and for `isValid`).
    var collecting: Bool
    let maxErrors: Int
    var errors: [ValidationError] = []
    /// The instance location, pushed and popped only while collecting.
    var path: [PathElement] = []
    /// The dynamic scope: schema resources entered, outermost first (only when `$dynamicRef` is used).
    var scope: [SchemaResource] = []
    let tracksScope: Bool
    let regexStepLimit: Int

    enum PathElement {
        case key(String)
        case index(Int)
    }

    init(collecting: Bool, maxErrors: Int, tracksScope: Bool, regexStepLimit: Int) {
        self.collecting = collecting
        self.maxErrors = max(1, maxErrors)
        self.tracksScope = tracksScope
        self.regexStepLimit = regexStepLimit
    }

    /// Whether no more errors are wanted: stop evaluating.
    var isFull: Bool { collecting && errors.count >= maxErrors }

    var instancePointer: String {
        var out = ""
        for element in path {
            switch element {
            case .key(let key): out += "/" + JSONPointer.escape(key)
            case .index(let index): out += "/" + String(index)
            }
        }
        return out
    }

    mutating func fail(_ keyword: KeywordLocation, _ message: @autoclosure () -> String) {
        guard collecting, errors.count < maxErrors else { return }
        errors.append(ValidationError(instancePointer: instancePointer, schemaLocation: keyword.location, keyword: keyword.name, message: message()))
    }

    /// Records an error at a child of the current instance location (e.g. a missing required property).
    mutating func fail(_ keyword: KeywordLocation, child: PathElement, _ message: @autoclosure () -> String) {
        guard collecting, errors.count < maxErrors else { return }
        path.append(child)
        fail(keyword, message())
        path.removeLast()
    }

    @inline(__always) mutating func push(_ key: String) { if collecting { path.append(.key(key)) } }
    @inline(__always) mutating func push(_ index: Int) { if collecting { path.append(.index(index)) } }
    @inline(__always) mutating func pop() { if collecting { path.removeLast() } }

    /// Runs `body` without recording errors (for `anyOf`, `oneOf`, `not`, `if`, `contains`, ...).
    @inline(__always)
    mutating func quietly<T>(_ body: (inout ValidationState) -> T) -> T {
        let saved = collecting
        collecting = false
        defer { collecting = saved }
        return body(&self)
    }
}

/// Where a keyword sits, for error reports.
struct KeywordLocation: Sendable {
    let name: String
    let location: String
}
