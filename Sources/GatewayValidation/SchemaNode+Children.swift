import GatewayCore

extension SchemaNode {
    /// Validates a member of the current object at `key` (the instance path follows along).
    @inline(__always)
    func validate(_ value: JSONValue, key: String, _ state: inout ValidationState) -> Bool {
        var evaluated = Evaluated.off
        state.push(key)
        defer { state.pop() }
        return validate(value, &state, &evaluated)
    }

    /// Validates an item of the current array at `index`.
    @inline(__always)
    func validate(_ value: JSONValue, index: Int, _ state: inout ValidationState) -> Bool {
        var evaluated = Evaluated.off
        state.push(index)
        defer { state.pop() }
        return validate(value, &state, &evaluated)
    }
}

extension ValidationState {
    /// After a failure: whether to stop evaluating (nobody wants more errors).
    var stopsAfterFailure: Bool { !collecting || isFull }
}
