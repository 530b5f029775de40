/// A place in one of the registry's documents.
struct SchemaLocation: Hashable {
    let document: Int
    let pointer: String
}
