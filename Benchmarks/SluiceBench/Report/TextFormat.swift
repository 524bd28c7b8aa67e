import Foundation

/// Small number formatting for the tables.
enum TextFormat {
    /// `value` with `decimals` digits after the point.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        value.isFinite ? String(format: "%.\(decimals)f", value) : "-"
    }

    /// A rate with a k/M suffix and three significant digits: `812k`, `1.23M`.
    static func rate(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        if value >= 1e6 { return fixed(value / 1e6, value >= 1e7 ? 1 : 2) + "M" }
        if value >= 1e3 { return fixed(value / 1e3, value >= 1e5 ? 0 : value >= 1e4 ? 1 : 2) + "k" }
        return fixed(value, 0)
    }

    /// Seconds as milliseconds, or `-`.
    static func milliseconds(_ seconds: Double?) -> String {
        guard let seconds else { return "-" }
        return fixed(seconds * 1000, seconds < 0.01 ? 2 : seconds < 1 ? 1 : 0)
    }

    /// `text` padded to `width` (left-aligned), or right-aligned when `right`.
    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let count = text.count
        guard count < width else { return text }
        let spaces = String(repeating: " ", count: width - count)
        return right ? spaces + text : text + spaces
    }

    /// Rows of cells as aligned columns; `rightAligned` columns are numbers.
    static func table(header: [String], rows: [[String]], rightAligned: Set<Int>) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in pad(cell, widths[i], right: rightAligned.contains(i)) }
                .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        let rule = line(widths.map { String(repeating: "-", count: $0) })
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}
