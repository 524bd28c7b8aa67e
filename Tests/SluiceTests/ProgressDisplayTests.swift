import Testing
import Sluice
@testable import SluiceCLI

@Suite("ProgressDisplay")
struct ProgressDisplayTests {
    private func snapshot(phase: MetricsSnapshot.Phase = .running) -> MetricsSnapshot {
        MetricsSnapshot(
            phase: phase, ingested: 1_234_567, invalid: 3, duplicates: 61_000, filtered: 24_100,
            destinations: [
                "stdout": .init(delivered: 1_100_000, pending: 8_200),
                "segment": .init(delivered: 900_000, deadLettered: 12, retries: 40, pending: 250_000),
            ],
            elapsedSeconds: 1.52)
    }

    @Test("the line shows rate, totals and each destination's lag, destinations by name")
    func lineContents() {
        let line = ProgressDisplay.line(for: snapshot(), rate: 812_449, width: 500)
        #expect(line == "sluice: 812.4k ev/s | 1.2M in, 61.0k dup, 24.1k filtered, 3 invalid"
                + " | segment 900.0k sent, 12 dead, lag 250.0k, 40 retries | stdout 1.1M sent, lag 8.2k | 1.5 s")
    }

    @Test("a draining pipeline says so")
    func draining() {
        #expect(ProgressDisplay.line(for: snapshot(phase: .draining), rate: 0, width: 500).hasSuffix("1.5 s draining"))
    }

    @Test("the line never reaches the terminal's last column, so a carriage return can redraw it")
    func truncatedToWidth() {
        let line = ProgressDisplay.line(for: snapshot(), rate: 1, width: 40)
        #expect(line.count == 39)
        #expect(line.hasSuffix("…"))
    }

    @Test("numbers are compact with one decimal")
    func compactNumbers() {
        #expect(ProgressDisplay.compact(0) == "0")
        #expect(ProgressDisplay.compact(999) == "999")
        #expect(ProgressDisplay.compact(1000) == "1.0k")
        #expect(ProgressDisplay.compact(1_049_999) == "1.0M")
        #expect(ProgressDisplay.compact(2_500_000_000) == "2.5G")
        #expect(ProgressDisplay.compact(-5) == "0")
    }
}
