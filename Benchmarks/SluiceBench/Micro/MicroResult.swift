/// One stage micro-benchmark figure.
struct MicroResult: Codable, Sendable, Equatable {
    /// The stage: `json`, `dedupe`, `channel`, `encoding`.
    var group: String
    /// What was measured.
    var name: String
    /// `MB/s`, `events/s`, `ns/chunk/hop`, `x` ...
    var unit: String
    /// The median over repetitions (or a ratio of medians).
    var value: Double
    var min: Double?
    var max: Double?
    /// Whether a larger value is better (for `--compare`).
    var higherIsBetter: Bool
    /// How to read it, or why it is missing.
    var note: String?
}

extension MicroResult {
    /// The micro-benchmark table.
    static func render(_ results: [MicroResult]) -> String {
        let rows = results.map { r -> [String] in
            let value = r.unit == "x" || r.value < 100 ? TextFormat.fixed(r.value, r.value < 10 ? 2 : 1) : TextFormat.rate(r.value)
            let range: String
            if let lo = r.min, let hi = r.max, r.unit != "x" {
                range = r.value < 100 ? "\(TextFormat.fixed(lo, 1))-\(TextFormat.fixed(hi, 1))" : "\(TextFormat.rate(lo))-\(TextFormat.rate(hi))"
            } else {
                range = ""
            }
            return [r.group, r.name, value, r.unit, range, r.note ?? ""]
        }
        return TextFormat.table(header: ["stage", "measurement", "median", "unit", "[min-max]", "note"], rows: rows,
                                rightAligned: [2, 4])
    }
}
