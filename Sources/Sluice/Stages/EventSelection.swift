/// Which events a filter lets through: the global `filter` and each destination's `events`.
///
/// An event is admitted when its category is selected, its name matches some `include` pattern, and no
/// `exclude` pattern. The patterns are compiled when set, so the internal `admits(name:category:)` is allocation-free.
///
/// `categories == nil` means "not configured", which selects every category **except**
/// ``EventCategory/internal``: SDK bookkeeping events are dropped by default (as the contract requires of the
/// global filter, and destinations follow the same rule). To pass internal events, name `internal`
/// explicitly, in the global filter and in the destination's selection.
public struct EventSelection: Sendable, Equatable {
    /// The categories admitted; `nil` selects ``EventCategory/defaultSelected`` (all but internal).
    public var categories: Set<EventCategory>? {
        didSet { categoryMask = Self.mask(categories) }
    }
    /// Event name patterns, any of which admits a name. The default `["*"]` admits every name; an empty list
    /// admits none.
    public var include: [String] {
        didSet {
            includePatterns = EventNamePatternSet(include.map(EventNamePattern.init))
        }
    }
    /// Event name patterns, any of which rejects a name even when it is included.
    public var exclude: [String] {
        didSet { excludePatterns = EventNamePatternSet(exclude.map(EventNamePattern.init)) }
    }

    /// One bit per category (``EventCategory/selectionBit``): testing a bit is cheaper than hashing per event.
    private var categoryMask: UInt8
    private var includePatterns: EventNamePatternSet
    private var excludePatterns: EventNamePatternSet
    /// Set for a destination that takes nothing in this run (the others while `--replay-destination` names one):
    /// every event is filtered with this reason.
    var rejectsAll: FilterReason?

    /// Creates a selection; the defaults admit every event except internal ones.
    public init(categories: Set<EventCategory>? = nil, include: [String] = ["*"], exclude: [String] = []) {
        self.categories = categories
        self.include = include
        self.exclude = exclude
        self.categoryMask = Self.mask(categories)
        self.includePatterns = EventNamePatternSet(include.map(EventNamePattern.init))
        self.excludePatterns = EventNamePatternSet(exclude.map(EventNamePattern.init))
    }

    /// The categories actually admitted, with the default applied.
    public var effectiveCategories: Set<EventCategory> { categories ?? EventCategory.defaultSelected }

    /// Whether an event with this raw UTF-8 name and category passes; allocation-free, runs per event.
    func admits(name: UnsafeRawBufferPointer, category: EventCategory) -> Bool {
        rejection(name: name, category: category) == nil
    }

    /// Why an event with this name and category does not pass, or nil when it does; allocation-free.
    func rejection(name: UnsafeRawBufferPointer, category: EventCategory) -> FilterReason? {
        if let reason = rejectsAll { return reason }
        guard categoryMask & category.selectionBit != 0 else { return .categoryNotSelected }
        guard includePatterns.matchesAny(name) else { return .notIncluded }
        return excludePatterns.isEmpty || !excludePatterns.matchesAny(name) ? nil : .excluded
    }

    /// Whether an event with this name passes, classifying it by name; for configuration code and tests.
    func admits(name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            return admits(name: raw, category: EventCategory.of(eventName: raw))
        }
    }

    /// Selections are equal when their configured categories and patterns are (the compiled matchers follow).
    public static func == (lhs: EventSelection, rhs: EventSelection) -> Bool {
        lhs.categories == rhs.categories && lhs.include == rhs.include && lhs.exclude == rhs.exclude
    }

    private static func mask(_ categories: Set<EventCategory>?) -> UInt8 {
        (categories ?? EventCategory.defaultSelected).reduce(0) { $0 | $1.selectionBit }
    }
}
