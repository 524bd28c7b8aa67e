/// How a file destination treats a file that already exists (`"mode"` in its configuration).
public enum FileWriteMode: String, Sendable, CaseIterable, Equatable {
    /// Add to the end of the file (the default): a rerun or a second process never destroys earlier output.
    case append
    /// Empty the file when the run starts, so it holds this run's events only.
    case truncate
}
