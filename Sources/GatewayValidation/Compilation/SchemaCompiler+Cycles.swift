extension SchemaCompiler {
    /// Rejects schemas that apply themselves to the same instance location through a chain of
    /// `$ref`/`allOf`/`anyOf`/... without descending into the instance: validating them would
    /// never end (`{"$ref": "#"}`).
    func checkForInfiniteLoops() throws(SchemaCompileError) {
        var state: [ObjectIdentifier: Bool] = [:]  // false: on the current path, true: done
        var stack: [(node: SchemaNode, children: [SchemaNode], next: Int)] = []
        for start in nodes.values where state[ObjectIdentifier(start)] == nil {
            state[ObjectIdentifier(start)] = false
            stack.append((start, start.keywords.flatMap(\.inPlaceSubschemas), 0))
            while !stack.isEmpty {
                let top = stack.count - 1
                if stack[top].next == stack[top].children.count {
                    state[ObjectIdentifier(stack[top].node)] = true
                    stack.removeLast()
                    continue
                }
                let child = stack[top].children[stack[top].next]
                stack[top].next += 1
                switch state[ObjectIdentifier(child)] {
                case false?:
                    throw SchemaCompileError(location: child.location, pointer: Self.pointer(of: child.location),
                                             reason: "the schema applies itself to the same value through $ref/allOf/anyOf/... (an infinite loop)")
                case true?:
                    continue
                case nil:
                    state[ObjectIdentifier(child)] = false
                    stack.append((child, child.keywords.flatMap(\.inPlaceSubschemas), 0))
                }
            }
        }
    }

    private static func pointer(of location: String) -> String {
        URIReference.split(location).fragment
    }
}
