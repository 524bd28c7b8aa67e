/// The names generated events draw from: plausible product vocabulary, a few of each so that filters and
/// per-name statistics have something to group by.
enum Catalog {
    /// Custom event names; index 0 must stay `purchase` (it gets purchase-only metadata).
    static let customEvents: [StaticString] = ["purchase", "add_to_cart", "page_view", "checkout_started", "search", "level_up"]
    static let gates: [StaticString] = [
        "dark_mode", "new_checkout_rollout", "search_v2", "beta_banner", "one_click_pay", "holiday_theme",
        "mobile_nav_redesign", "fraud_check_strict",
    ]
    static let configs: [StaticString] = ["homepage_copy", "checkout_settings", "pricing_tiers", "feature_limits", "support_widget"]
    static let experiments: [StaticString] = [
        "onboarding_flow", "pricing_page_test", "recommendation_model", "checkout_button_color", "email_cadence",
    ]
    /// `ruleID` of an experiment exposure is `grp_<index + 1>` of its group here.
    static let groups: [StaticString] = ["Control", "Test", "Test 2"]
    static let layers: [StaticString] = ["pricing_layer", "onboarding_layer", "search_layer"]
    static let parameters: [StaticString] = ["cta_text", "price_display", "steps", "ranking"]
    static let reasons: [StaticString] = ["Network", "Network", "Bootstrap", "Cache", "NetworkNotModified"]
    static let sources: [StaticString] = ["web", "ios", "android"]
    /// Weighted toward the JS client, like the export sample.
    static let sdks: [(type: StaticString, version: StaticString)] = [
        ("js-client", "3.12.0"), ("js-client", "3.12.0"), ("js-client", "3.12.0"), ("js-client", "3.11.2"),
        ("ios-client", "1.48.0"), ("android-client", "4.39.1"), ("react-native", "3.12.0"),
    ]
    static let places: [(country: StaticString, locale: StaticString)] = [
        ("US", "en_US"), ("BR", "pt_BR"), ("DE", "de_DE"), ("IN", "hi_IN"), ("JP", "ja_JP"), ("GB", "en_GB"),
        ("FR", "fr_FR"), ("CA", "en_CA"),
    ]
}
