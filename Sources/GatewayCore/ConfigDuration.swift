/// Parses the configuration's duration strings: `250ms`, `29s`, `5m`, `2h`, `1d`.
public enum ConfigDuration {
    public static func parse(_ text: String) -> Duration? {
        let units: [(suffix: String, millis: Int64)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
        ]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            guard !number.isEmpty, let value = Double(number), value >= 0, value.isFinite else { return nil }
            // "5m" must not be read as "5" + "m" when it ends in "ms": the order of `units` handles that.
            return .milliseconds(Int64((value * Double(unit.millis)).rounded()))
        }
        return nil
    }

    /// `29s`-style text for a duration, for printing.
    public static func describe(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if ms % 1000 != 0 { return "\(ms)ms" }
        return "\(ms / 1000)s"
    }
}
