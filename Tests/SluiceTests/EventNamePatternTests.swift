import Testing
@testable import Sluice

@Suite("EventNamePattern")
struct EventNamePatternTests {
    @Test("matches names by exact text and * wildcards", arguments: [
        // (pattern, name, expected)
        ("Order Completed", "Order Completed", true),
        ("Order Completed", "Order completed", false),
        ("Order Completed", "Order Completed ", false),
        ("Order", "Order Completed", false),
        ("statsig::*", "statsig::gate_exposure", true),
        ("statsig::*", "statsig::", true),
        ("statsig::*", "statsig:", false),
        ("statsig::*", "Statsig::gate_exposure", false),
        ("*_exposure", "statsig::layer_exposure", true),
        ("*_exposure", "_exposure", true),
        ("*_exposure", "statsig::exposures", false),
        ("a*b*c", "abc", true),
        ("a*b*c", "aXXbYYc", true),
        ("a*b*c", "abbc", true),
        ("a*b*c", "acb", false),
        ("a*b*c", "abcd", false),
        ("a*b*c", "ab", false),
        ("ab*ba", "aba", false),
        ("*ana*", "banana", true),
        ("a*a*a", "aa", false),
        ("a*a*a", "aaa", true),
        ("*", "anything at all", true),
        ("*", "", true),
        ("**", "x", true),
        ("", "", true),
        ("", "x", false),
        ("x", "", false),
        ("*x*", "", false),
        ("ü*", "über", true),
        ("ü*", "uber", false),
    ])
    func matching(pattern: String, name: String, expected: Bool) {
        #expect(EventNamePattern(pattern).matches(name) == expected)
    }

    @Test("the byte form agrees with the String form")
    func byteForm() {
        let pattern = EventNamePattern("page_*:*Home")
        var name = "page_view:MyHome"
        let viaBytes = name.withUTF8 { pattern.matches(UnsafeRawBufferPointer($0)) }
        #expect(viaBytes)
        #expect(pattern.matches(name))
        #expect(!pattern.matches("page_view:MyHomes"))
    }

    @Test("a lone wildcard is recognised as matching everything, and only then")
    func matchesEverything() {
        #expect(EventNamePattern("*").matchesEverything)
        #expect(EventNamePattern("***").matchesEverything)
        #expect(!EventNamePattern("*a").matchesEverything)
        #expect(!EventNamePattern("").matchesEverything)
    }

    @Test("patterns compare by their text")
    func equality() {
        #expect(EventNamePattern("a*") == EventNamePattern("a*"))
        #expect(EventNamePattern("a*") != EventNamePattern("a**"))
        #expect(EventNamePattern("a*").description == "a*")
    }
}

@Suite("EventNamePatternSet")
struct EventNamePatternSetTests {
    @Test("a set matches a name exactly when one of its patterns does")
    func agreesWithPatterns() {
        let patterns = ["Order *", "*_exposure", "a*b*c", "exact", ""].map(EventNamePattern.init)
        let set = EventNamePatternSet(patterns)
        for name in ["Order Completed", "statsig::gate_exposure", "aXbXc", "exact", "", "exactly", "Signed Up", "ab"] {
            var bytes = name
            let viaSet = bytes.withUTF8 { set.matchesAny(UnsafeRawBufferPointer($0)) }
            #expect(viaSet == patterns.contains { $0.matches(name) }, "\(name)")
        }
        #expect(!set.matchesEverything)
    }

    @Test("an empty set matches nothing; a set with * matches everything")
    func emptyAndEverything() {
        var name = "anything"
        let empty = EventNamePatternSet([])
        #expect(empty.isEmpty)
        #expect(!name.withUTF8 { empty.matchesAny(UnsafeRawBufferPointer($0)) })
        let everything = EventNamePatternSet([EventNamePattern("x"), EventNamePattern("*")])
        #expect(everything.matchesEverything)
        #expect(name.withUTF8 { everything.matchesAny(UnsafeRawBufferPointer($0)) })
    }
}

@Suite("EventCategory")
struct EventCategoryTests {
    @Test("classifies Statsig event names", arguments: [
        ("statsig::gate_exposure", EventCategory.gateExposure),
        ("statsig::config_exposure", .configExposure),
        ("statsig::experiment_exposure", .experimentExposure),
        ("statsig::layer_exposure", .layerExposure),
        ("statsig::initialize", .initialize),
        ("statsig::diagnostics", .internal),
        ("statsig::", .internal),
        ("statsig::gate_exposure2", .internal),
        ("statsig::gate_exposur", .internal),
        ("statsig::Gate_exposure", .internal),
        ("Order Completed", .custom),
        ("", .custom),
        ("statsig:", .custom),
        ("statsig:gate_exposure", .custom),
        ("Statsig::gate_exposure", .custom),
        ("gate_exposure", .custom),
        ("segment_track:statsig::gate_exposure", .custom),
    ])
    func classification(name: String, expected: EventCategory) {
        #expect(EventCategory.of(eventName: name) == expected)
        var bytes = name
        let viaBytes = bytes.withUTF8 { EventCategory.of(eventName: UnsafeRawBufferPointer($0)) }
        #expect(viaBytes == expected)
    }

    @Test("raw values are the configuration file's category names")
    func rawValues() {
        #expect(EventCategory.allCases.map(\.rawValue) == [
            "custom", "gate_exposure", "config_exposure", "experiment_exposure", "layer_exposure", "initialize",
            "internal",
        ])
    }

    @Test("the default selection is every category except internal")
    func defaultSelected() {
        #expect(EventCategory.defaultSelected == Set(EventCategory.allCases).subtracting([.internal]))
    }

    @Test("each category has its own selection bit")
    func selectionBits() {
        let bits = EventCategory.allCases.map(\.selectionBit)
        #expect(Set(bits).count == bits.count)
        #expect(bits.allSatisfy { $0.nonzeroBitCount == 1 })
    }
}

@Suite("EventSelection")
struct EventSelectionTests {
    @Test("by default admits every event except internal ones")
    func defaults() {
        let selection = EventSelection()
        #expect(selection.admits(name: "Order Completed"))
        #expect(selection.admits(name: "statsig::gate_exposure"))
        #expect(selection.admits(name: "statsig::initialize"))
        #expect(!selection.admits(name: "statsig::diagnostics"))
        #expect(selection.effectiveCategories == EventCategory.defaultSelected)
    }

    @Test("internal events pass only when named")
    func internalWhenNamed() {
        let selection = EventSelection(categories: [.internal])
        #expect(selection.admits(name: "statsig::diagnostics"))
        #expect(!selection.admits(name: "Order Completed"))
    }

    @Test("an event must be in a selected category, included, and not excluded")
    func allThreeRules() {
        let selection = EventSelection(
            categories: [.custom, .gateExposure], include: ["Order *", "statsig::*"], exclude: ["Order Refunded"])
        #expect(selection.admits(name: "Order Completed"))
        #expect(selection.admits(name: "statsig::gate_exposure"))
        #expect(!selection.admits(name: "Order Refunded"))
        #expect(!selection.admits(name: "Signed Up"))
        #expect(!selection.admits(name: "statsig::config_exposure"))
    }

    @Test("an empty include list admits nothing")
    func emptyInclude() {
        #expect(!EventSelection(include: []).admits(name: "Order Completed"))
    }

    @Test("changing the patterns or categories recompiles the matcher")
    func mutation() {
        var selection = EventSelection()
        selection.exclude = ["Order *"]
        #expect(!selection.admits(name: "Order Completed"))
        selection.include = ["Signed *"]
        #expect(!selection.admits(name: "Page Viewed"))
        #expect(selection.admits(name: "Signed Up"))
        selection.categories = [.gateExposure]
        #expect(!selection.admits(name: "Signed Up"))
    }

    @Test("equality compares the configured rules")
    func equality() {
        #expect(EventSelection() == EventSelection(categories: nil, include: ["*"], exclude: []))
        #expect(EventSelection() != EventSelection(categories: EventCategory.defaultSelected))
    }
}

@Suite("EventSelection rejection reasons")
struct EventSelectionRejectionTests {
    func reason(_ selection: EventSelection, _ name: String) -> FilterReason? {
        var name = name
        return name.withUTF8 { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            return selection.rejection(name: raw, category: EventCategory.of(eventName: raw))
        }
    }

    @Test("each rejection names its cause: category first, then include, then exclude")
    func reasons() {
        let selection = EventSelection(categories: [.custom, .gateExposure], include: ["purchase*", "statsig::*"], exclude: ["purchase_test"])
        #expect(reason(selection, "purchase_done") == nil)
        #expect(reason(selection, "statsig::gate_exposure") == nil)
        #expect(reason(selection, "statsig::config_exposure") == .categoryNotSelected)
        #expect(reason(selection, "statsig::diagnostics") == .categoryNotSelected)
        #expect(reason(selection, "signup") == .notIncluded)
        #expect(reason(selection, "purchase_test") == .excluded)
        #expect(selection.admits(name: "purchase_done"))
        #expect(!selection.admits(name: "purchase_test"))
    }
}
