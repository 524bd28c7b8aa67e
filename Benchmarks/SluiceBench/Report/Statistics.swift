/// Median, minimum and maximum of repeated measurements: the median is the headline (a lucky or unlucky
/// repetition on a shared machine moves it least), min and max show the noise.
struct Spread: Codable, Sendable, Equatable {
    var median: Double
    var min: Double
    var max: Double

    /// `nil` for no values.
    init?(_ values: [Double]) {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard let first = sorted.first, let last = sorted.last else { return nil }
        let mid = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        min = first
        max = last
    }
}
