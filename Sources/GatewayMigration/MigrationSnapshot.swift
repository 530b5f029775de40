/// What a gateway publishes of one migrating route for the CLI (stored as JSON in the state
/// store, rewritten every second): counts, the mismatch report and the window's figures.
public struct MigrationSnapshot: Sendable, Equatable, Codable {
    public var counts: MigrationController.Counts
    public var report: MismatchReport
    public var figures: MigrationWindow.Figures?

    public init(counts: MigrationController.Counts, report: MismatchReport, figures: MigrationWindow.Figures?) {
        self.counts = counts
        self.report = report
        self.figures = figures
    }
}
