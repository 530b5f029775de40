/// Annotations collected for `unevaluatedProperties` / `unevaluatedItems`: which properties and
/// items of the current instance some keyword has evaluated. Only tracked when `tracking` is set,
/// that is below a schema that uses one of the two keywords; otherwise every method is a no-op and
/// nothing is allocated.
struct Evaluated {
    let tracking: Bool
    var allProperties = false
    var allItems = false
    /// Items `0..<itemPrefix` were evaluated.
    var itemPrefix = 0
    /// The properties and items evaluated one by one, made at the first. One optional rather
    /// than two: every child validation creates and destroys a record, and destroying one that
    /// was never used is then a single check.
    private var seen: Seen?

    private struct Seen {
        var properties: Set<String> = []
        var items: Set<Int> = []
    }

    static var off: Evaluated { Evaluated(tracking: false) }

    init(tracking: Bool) { self.tracking = tracking }

    /// A fresh record for a subschema evaluated in place at the same instance location.
    var child: Evaluated { Evaluated(tracking: tracking) }

    @inline(__always) mutating func addProperty(_ name: String) {
        guard tracking && !allProperties else { return }
        if seen == nil { seen = Seen() }
        seen!.properties.insert(name)
    }

    mutating func addItem(_ index: Int) {
        guard tracking else { return }
        if seen == nil { seen = Seen() }
        seen!.items.insert(index)
    }

    mutating func addItems(upTo count: Int) {
        if tracking { itemPrefix = max(itemPrefix, count) }
    }

    mutating func merge(_ other: Evaluated) {
        guard tracking else { return }
        if other.allProperties {
            allProperties = true
            seen?.properties = []
        }
        if other.allItems { allItems = true }
        itemPrefix = max(itemPrefix, other.itemPrefix)
        guard let more = other.seen else { return }
        if seen == nil { seen = Seen() }
        if !allProperties { seen!.properties.formUnion(more.properties) }
        seen!.items.formUnion(more.items)
    }

    func isPropertyEvaluated(_ name: String) -> Bool {
        allProperties || seen?.properties.contains(name) == true
    }

    func isItemEvaluated(_ index: Int) -> Bool {
        allItems || index < itemPrefix || seen?.items.contains(index) == true
    }
}
