import Synchronization
import Testing
@testable import Sluice

/// Records every report a tracker makes, in order.
final class RecordingReceiver: AcknowledgementReceiver {
    private let state = Mutex<(destinations: [DestinationSettlement], units: [UnitSettlement])>(([], []))

    func settled(_ settlement: DestinationSettlement) { state.withLock { $0.destinations.append(settlement) } }
    func settled(_ settlement: UnitSettlement) { state.withLock { $0.units.append(settlement) } }

    var destinationReports: [DestinationSettlement] { state.withLock { $0.destinations } }
    var unitReports: [UnitSettlement] { state.withLock { $0.units } }
    func reports(for destination: Int) -> [DestinationSettlement] { destinationReports.filter { $0.destination == destination } }
    var settledUnits: Set<UInt64> { Set(unitReports.map(\.unit)) }
}

@Suite("Acknowledgements: the settlement tracker")
struct AcknowledgementTrackerTests {
    @Test("a unit settles only after every destination booked every one of its events")
    func settlesAfterEveryDestination() {
        let receiver = RecordingReceiver()
        let tracker = SettlementTracker(destinations: ["fast", "slow"], receiver: receiver)
        let unit = tracker.begin(events: 10)
        unit.settle(destination: 0, count: 10, as: .delivered)
        #expect(receiver.reports(for: 0).map(\.unit) == [unit.sequence])
        #expect(receiver.unitReports.isEmpty)
        unit.settle(destination: 1, count: 6, as: .delivered)
        #expect(receiver.reports(for: 1).isEmpty)
        #expect(receiver.unitReports.isEmpty)
        unit.settle(destination: 1, count: 4, as: .deadLettered)
        #expect(receiver.reports(for: 1).map(\.counts) == [SettlementCounts(delivered: 6, deadLettered: 4)])
        #expect(receiver.unitReports.map(\.unit) == [unit.sequence])
        #expect(receiver.unitReports.first?.isSettled == true)
        #expect(tracker.unsettledUnits == 0)
    }

    @Test("events removed before fan-out count for every destination")
    func removedBeforeFanOutCountsEverywhere() {
        let receiver = RecordingReceiver()
        let tracker = SettlementTracker(destinations: ["a", "b"], receiver: receiver)
        let unit = tracker.begin(events: 5)
        unit.settleEverywhere(count: 2, as: .duplicate)
        unit.settleEverywhere(count: 1, as: .filtered)
        unit.settle(destination: 0, count: 2, as: .delivered)
        #expect(receiver.reports(for: 0).first?.counts == SettlementCounts(delivered: 2, filtered: 1, duplicates: 2))
        #expect(receiver.unitReports.isEmpty)
        unit.settle(destination: 1, count: 2, as: .dropped)
        #expect(receiver.unitReports.first?.counts[1] == SettlementCounts(filtered: 1, duplicates: 2, dropped: 2))
    }

    @Test("an unsealed unit does not finish even when everything added so far is booked")
    func unsealedUnitWaits() {
        let receiver = RecordingReceiver()
        let tracker = SettlementTracker(destinations: ["a"], receiver: receiver)
        let unit = tracker.begin()
        tracker.add(unit, events: 3)
        unit.settle(destination: 0, count: 3, as: .delivered)
        #expect(receiver.unitReports.isEmpty)
        tracker.add(unit, events: 2)
        tracker.seal(unit)
        #expect(receiver.unitReports.isEmpty)
        unit.settle(destination: 0, count: 2, as: .delivered)
        #expect(receiver.unitReports.map { $0.counts[0].delivered } == [5])
    }

    @Test("a unit with no events (only invalid lines) settles when sealed")
    func emptyUnitSettlesAtSeal() {
        let receiver = RecordingReceiver()
        let tracker = SettlementTracker(destinations: ["a", "b"], receiver: receiver)
        _ = tracker.begin(events: 0)
        #expect(receiver.destinationReports.count == 2)
        #expect(receiver.unitReports.map(\.frontier) == [1])
    }

    @Test("the contiguous frontier never passes an unsettled unit, and jumps once it settles")
    func frontierStopsAtUnsettledUnit() {
        let receiver = RecordingReceiver()
        let tracker = SettlementTracker(destinations: ["a"], receiver: receiver, firstSequence: 100)
        let units = (0..<4).map { _ in tracker.begin(events: 1) }
        #expect(units.map(\.sequence) == [100, 101, 102, 103])
        units[2].settle(destination: 0, count: 1, as: .delivered)
        units[1].settle(destination: 0, count: 1, as: .delivered)
        #expect(receiver.reports(for: 0).map(\.unit) == [102, 101])
        #expect(receiver.reports(for: 0).map(\.frontier) == [100, 100])
        #expect(tracker.frontiers == [100])
        units[0].settle(destination: 0, count: 1, as: .delivered)
        #expect(receiver.reports(for: 0).last?.frontier == 103)
        #expect(receiver.unitReports.last?.frontier == 103)
        units[3].settle(destination: 0, count: 1, as: .delivered)
        #expect(tracker.frontiers == [104])
        #expect(tracker.unsettledUnits == 0)
    }

    @Test("sequences with gaps: the frontier moves over units the source never sent")
    func gapsCountAsSettled() {
        let receiver = RecordingReceiver()
        let tracker = SettlementTracker(destinations: ["a"], receiver: receiver)
        let five = tracker.begin(sequence: 5, events: 1)
        let nine = tracker.begin(sequence: 9, events: 1)
        five.settle(destination: 0, count: 1, as: .delivered)
        #expect(tracker.frontiers == [9])
        nine.settle(destination: 0, count: 1, as: .delivered)
        #expect(tracker.frontiers == [10])
        #expect(tracker.begin(events: 0).sequence == 10)
    }

    @Test("the frontier is per destination: a slow destination holds back only its own and the overall one")
    func frontierPerDestination() {
        let receiver = RecordingReceiver()
        let tracker = SettlementTracker(destinations: ["fast", "slow"], receiver: receiver)
        let units = (0..<3).map { _ in tracker.begin(events: 2) }
        for unit in units { unit.settle(destination: 0, count: 2, as: .delivered) }
        units[0].settle(destination: 1, count: 1, as: .delivered)
        #expect(tracker.frontiers == [3, 0])
        units[1].settle(destination: 1, count: 2, as: .delivered)
        #expect(receiver.unitReports.map(\.unit) == [1])
        #expect(receiver.unitReports.map(\.frontier) == [0])
        units[0].settle(destination: 1, count: 1, as: .delivered)
        #expect(receiver.unitReports.map(\.frontier) == [0, 2])
        #expect(tracker.frontiers == [3, 2])
    }

    @Test("events left unsettled at the drain deadline: reported as not settled, and the frontier stays behind them")
    func leftUnsettledHoldsTheFrontier() {
        let receiver = RecordingReceiver()
        let tracker = SettlementTracker(destinations: ["a"], receiver: receiver)
        let first = tracker.begin(events: 4)
        let second = tracker.begin(events: 1)
        second.settle(destination: 0, count: 1, as: .delivered)
        first.settle(destination: 0, count: 3, as: .delivered)
        first.settle(destination: 0, count: 1, as: .leftUnsettled)
        let report = receiver.reports(for: 0).first { $0.unit == first.sequence }
        #expect(report?.isSettled == false)
        #expect(report?.frontier == 0)
        #expect(receiver.unitReports.first { $0.unit == first.sequence }?.isSettled == false)
        #expect(tracker.frontiers == [0])
        #expect(tracker.unsettledUnits == 2)
    }

    @Test("random interleavings: each unit reported exactly once per destination and once overall, frontier monotone and never past an unsettled unit")
    func randomInterleavings() {
        var rng = SplitMix64(seed: 42)
        for round in 0..<40 {
            let destinationCount = 1 + Int(rng.next() % 4)
            let receiver = RecordingReceiver()
            let tracker = SettlementTracker(destinations: (0..<destinationCount).map { "d\($0)" }, receiver: receiver)
            // Pending bookings: (unit, destination or nil for everywhere, count).
            var units: [(tag: UnitTag, events: Int)] = []
            var work: [(unit: Int, destination: Int?, count: Int)] = []
            for _ in 0..<(5 + Int(rng.next() % 300)) {
                let events = Int(rng.next() % 20)
                let tag = tracker.begin(events: events)
                units.append((tag, events))
                let removed = events == 0 ? 0 : Int(rng.next() % UInt64(events + 1)) / 3
                if removed > 0 { work.append((units.count - 1, nil, removed)) }
                for d in 0..<destinationCount {
                    var left = events - removed
                    while left > 0 {
                        let n = 1 + Int(rng.next() % UInt64(left))
                        work.append((units.count - 1, d, n))
                        left -= n
                    }
                }
            }
            // Bookings arrive in any order (stages and sender workers run concurrently): shuffle them all.
            var order = Array(work.indices)
            for i in order.indices.reversed() where i > 0 { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            for i in order {
                let item = work[i]
                if let d = item.destination {
                    units[item.unit].tag.settle(destination: d, count: item.count, as: .delivered)
                } else {
                    units[item.unit].tag.settleEverywhere(count: item.count, as: .duplicate)
                }
            }
            for d in 0..<destinationCount {
                let reports = receiver.reports(for: d)
                #expect(reports.count == units.count, "round \(round) destination \(d)")
                #expect(Set(reports.map(\.unit)).count == units.count)
                #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.frontier <= $1.frontier })
                // When a report is made, every unit below the frontier has already been reported.
                var seen = Set<UInt64>()
                for report in reports {
                    seen.insert(report.unit)
                    #expect((0..<report.frontier).allSatisfy(seen.contains), "round \(round)")
                }
                for report in reports {
                    #expect(report.counts.total == units[Int(report.unit)].events)
                }
            }
            #expect(receiver.unitReports.count == units.count)
            #expect(receiver.settledUnits.count == units.count)
            #expect(tracker.frontiers == Array(repeating: UInt64(units.count), count: destinationCount))
            #expect(tracker.unsettledUnits == 0)
        }
    }

    @Test("booking more events than a unit has at a destination never reports it twice")
    func overbookingIsClamped() {
        let receiver = RecordingReceiver()
        let tracker = SettlementTracker(destinations: ["a"], receiver: receiver)
        let unit = tracker.begin(events: 2)
        unit.settle(destination: 0, count: 5, as: .delivered)
        unit.settle(destination: 0, count: 1, as: .delivered)
        #expect(receiver.destinationReports.count == 1)
        #expect(receiver.unitReports.count == 1)
        #expect(receiver.unitReports.first?.counts[0].delivered == 2)
    }

    @Test("destination sets hold indices beyond 64")
    func destinationSetBeyond64() {
        let set = DestinationSet([0, 5, 63, 64, 130])
        #expect([0, 5, 63, 64, 130].allSatisfy(set.contains))
        #expect(![1, 62, 65, 129, 131, 500, -1].contains(where: set.contains))
        #expect(DestinationSet().isEmpty)
        #expect(!set.isEmpty)
    }
}
