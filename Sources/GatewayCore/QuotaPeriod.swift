import Foundation

/// UTC quota periods: a day from midnight, an ISO week from Monday, a calendar month.
public enum QuotaPeriod: String, Sendable {
    case day, week, month

    /// The window holding `time` (seconds since 1970): its start and end.
    public func window(containing time: Double) -> (start: Int64, end: Int64) {
        let t = Int64(time.rounded(.down))
        let day: Int64 = 86_400
        switch self {
        case .day:
            let start = t - ((t % day) + day) % day
            return (start, start + day)
        case .week:
            let days = Int64((Double(t) / Double(day)).rounded(.down))
            // 1970-01-01 was a Thursday: days since the last Monday.
            let sinceMonday = ((days + 3) % 7 + 7) % 7
            let start = (days - sinceMonday) * day
            return (start, start + 7 * day)
        case .month:
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let date = Date(timeIntervalSince1970: TimeInterval(t))
            let parts = calendar.dateComponents([.year, .month], from: date)
            let start = calendar.date(from: parts)!
            let end = calendar.date(byAdding: .month, value: 1, to: start)!
            return (Int64(start.timeIntervalSince1970), Int64(end.timeIntervalSince1970))
        }
    }
}
