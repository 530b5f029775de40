/// Annotations collected for `unevaluatedProperties` / `unevaluatedItems`: which properties and
/// items of the current instance some keyword has evaluated. Only tracked when `tracking` is set,
/// that is below a schema that uses one of the two keywords; otherwise every method is a no-op and
/// nothing is allocated.
struct Evaluated {
    let tracking: Bool
    var allProperties = false
    var properties: Set<String>?
    var allItems = false
    /// Items `0..<itemPrefix` were evaluated.
    var itemPrefix = 0
    var itemIndices: Set<Int>?

    static var off: Evaluated { Evaluated(tracking: false) }

    init(tracking: Bool) { self.tracking = tracking }

    /// A fresh record for a subschema evaluated in place at the same instance location.
    var child: Evaluated { Evaluated(tracking: tracking) }

    @inline(__always) mutating func addProperty(_ name: String) {
        guard tracking && !allProperties else { return }
        if properties == nil { properties = [name] } else { properties!.insert(name) }
    }

    mutating func addItem(_ index: Int) {
        guard tracking else { return }
        if itemIndices == nil { itemIndices = [index] } else { itemIndices!.insert(index) }
    }

    mutating func addItems(upTo count: Int) {
        if tracking { itemPrefix = max(itemPrefix, count) }
    }

    mutating func merge(_ other: Evaluated) {
        guard tracking else { return }
        if other.allProperties {
            allProperties = true
            properties = nil
        } else if !allProperties, let names = other.properties {
            properties = properties?.union(names) ?? names
        }
        if other.allItems { allItems = true }
        itemPrefix = max(itemPrefix, other.itemPrefix)
        if let indices = other.itemIndices { itemIndices = itemIndices?.union(indices) ?? indices }
    }

    func isPropertyEvaluated(_ name: String) -> Bool {
        allProperties || properties?.contains(name) == true
    }

    func isItemEvaluated(_ index: Int) -> Bool {
        allItems || index < itemPrefix || itemIndices?.contains(index) == true
    }
}
