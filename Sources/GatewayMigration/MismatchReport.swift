/// What shadowing found on one route (pure): how many answers were compared and how many differed,
/// the differences grouped by pointer (array indexes as `*`), the last 100 mismatches, and the
/// noise learned from legacy disagreeing with itself.
public struct MismatchReport: Sendable, Equatable, Codable {
    public struct Sample: Sendable, Equatable, Codable {
        public var method: String
        /// The path with query values redacted.
        public var path: String
        public var requestId: String
        /// Unix time in milliseconds.
        public var time: Int64
        public var differences: [ResponseComparer.Difference]

        public init(method: String, path: String, requestId: String, time: Int64, differences: [ResponseComparer.Difference]) {
            self.method = method
            self.path = path
            self.requestId = requestId
            self.time = time
            self.differences = differences
        }
    }

    public static let keptSamples = 100

    public private(set) var compared = 0
    public private(set) var mismatched = 0
    /// Requests whose answers differed at each grouped pointer.
    public private(set) var byPointer: [String: Int] = [:]
    /// Newest last.
    public private(set) var samples: [Sample] = []
    /// Grouped pointers where legacy disagreed with itself (or marked by hand): ignored from then on.
    public private(set) var noise: Set<String> = []

    public init() {}

    public var noisePatterns: [PointerPattern] { noise.sorted().compactMap(PointerPattern.init) }

    /// One comparison of a candidate's answer with legacy's.
    public mutating func record(_ sample: Sample) {
        compared += 1
        guard !sample.differences.isEmpty else { return }
        mismatched += 1
        for pointer in Set(sample.differences.map { PointerPattern.grouped($0.pointer) }) {
            byPointer[pointer, default: 0] += 1
        }
        samples.append(sample)
        if samples.count > Self.keptSamples { samples.removeFirst(samples.count - Self.keptSamples) }
    }

    /// Legacy answered the same request twice and the answers differed here: noise. Returns the
    /// pointers that are new noise.
    @discardableResult
    public mutating func learnNoise(_ differences: [ResponseComparer.Difference]) -> [String] {
        var added: [String] = []
        for d in differences {
            let pointer = PointerPattern.grouped(d.pointer)
            guard pointer != "status", PointerPattern(pointer) != nil else { continue }
            if noise.insert(pointer).inserted { added.append(pointer) }
        }
        return added
    }

    /// `gateway migrations ignore`: a pointer marked as noise by hand.
    public mutating func ignore(_ pointer: String) {
        noise.insert(pointer)
    }

    /// The grouped pointers with the share of compared requests that differed there, largest first.
    public var summary: [(pointer: String, requests: Int, percent: Double)] {
        byPointer.map { (pointer: $0.key, requests: $0.value, percent: compared == 0 ? 0 : Double($0.value) * 100 / Double(compared)) }
            .sorted { $0.requests != $1.requests ? $0.requests > $1.requests : $0.pointer < $1.pointer }
    }
}
