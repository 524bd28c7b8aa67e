extension Pipeline {
    /// Looks twice a second whether the reader of standard output has gone while a destination writes there,
    /// so a run whose events all turn out to be duplicates or filtered (nothing is written, so no EPIPE) still
    /// stops like `sluice | head -1` should. Posting the notice stops the input (see the notices' reaction).
    static func watchReader(of output: FileDescriptorSink, until done: @Sendable () -> Bool) async {
        guard output.isInUse else { return }
        while !Task.isCancelled && !done() {
            if output.checkReaderGone() { return }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}
