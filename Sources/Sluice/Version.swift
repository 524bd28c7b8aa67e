/// The engine's version, as `sluice --version` prints it and the HTTP destinations send in `User-Agent`.
public enum SluiceVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"
}
