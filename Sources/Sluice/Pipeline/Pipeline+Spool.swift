#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Pipeline {
    /// With a spool: replay what an earlier run left unsettled, then read the input stream through the spool,
    /// then wait for `ingest` callers (whose bodies go through the spool too).
    func runSpooledInput(_ spooled: SpooledSource, start: UInt64) async {
        let shouldStop: @Sendable () -> Bool = { [shutdownState] in shutdownState.isDraining }
        do {
            try await spooled.replay(ingestor: ingestor, shouldStop: shouldStop)
        } catch {
            options.onNotice?(.spool("\(error); the rest of the spool is kept for the next run"))
        }
        if case .none = options.input {
            // Input comes only from ingest(): wait for finish() or shutdown.
        } else {
            do {
                try await spooled.stream(blocks: blockQueue, startOffset: start, maxLineBytes: configuration.input.maxLineBytes,
                                         ingestor: ingestor, shouldStop: shouldStop)
            } catch {
                // The spool cannot take more (a full disk, an I/O error): stop reading here. What was spooled is
                // delivered or kept; with --input FILE the next run continues from the last spooled line.
                inputError.withLock { $0 = "\(error); input stopped at the last spooled line" }
                spooled.recordWriteFailure()
                blockQueue.finish()
            }
            gate.close()
        }
    }
}

extension Pipeline {
    /// `replayed` per destination and the spool's own figures.
    func addSpoolFigures(to summary: inout Summary, _ spooled: SpooledSource) {
        let replayed = spooled.replayed
        for (index, name) in spooled.spool.destinations.enumerated() where index < replayed.count {
            summary.destinations[name]?.replayed = replayed[index]
        }
        let stats = spooled.spool.stats
        summary.spool = Summary.SpoolSummary(
            corruptRecords: stats.corruptRecords, replayedRecords: spooled.replayedRecordCount,
            recordsLeft: spooled.spool.unsettledRecordCount, bytes: stats.bytes, segments: stats.segments,
            writeFailures: spooled.writeFailureCount, cursorWriteFailures: stats.cursorWriteFailures)
        summary.spool?.cursorsNotWritten = stats.cursorsBehind
        summary.spool?.restoredDedupeKeys = spooledDedupeKeys?.restoredCount ?? 0
        summary.spool?.dedupeKeyWriteFailures = spooledDedupeKeys?.writeFailures ?? 0
    }

    /// The spool's dedupe key journal, when there is a spool and this process's dedupe table is the one used
    /// (with `dedupe.shared` the keys live in Redis, and the journal is neither read nor written).
    static func spooledDedupeKeys(_ spooled: SpooledSource?, _ configuration: PipelineConfiguration,
                                  _ options: PipelineOptions) throws -> SpooledDedupeKeys? {
        guard let spooled, configuration.dedupe.enabled, !options.disableDedupe, configuration.dedupe.shared == nil else { return nil }
        return try SpooledDedupeKeys(source: spooled, configuration: configuration.dedupe, onNotice: options.spoolNotices)
    }
}

extension PipelineOptions {
    /// ``onNotice`` for the spool's messages, which are plain text.
    var spoolNotices: (@Sendable (String) -> Void)? {
        guard let handler = onNotice else { return nil }
        return { @Sendable message in handler(.spool(message)) }
    }
}

extension SpooledSource {
    /// Opens (recovering) the spool for `destinations` and reports what recovery found through `onNotice`.
    static func open(_ configuration: SpoolConfiguration, destinations: [String], recordLines: Int,
                     onNotice: (@Sendable (String) -> Void)?) throws -> SpooledSource {
        let spool: Spool
        do {
            spool = try Spool(configuration: configuration, destinations: destinations, onProblem: { onNotice?($0) })
        } catch let error as SpoolError {
            throw PipelineError(error.message)
        }
        for note in spool.recovery.notes { onNotice?(note) }
        return SpooledSource(spool: spool, recordLines: recordLines)
    }

    /// Opens the input file and decides where to read from: where the spool left off when it is the file the
    /// spool was reading, else 0 (said through `onNotice`), recording the new file's identity first.
    func openInputFile(_ path: String, onNotice: (@Sendable (String) -> Void)?) -> Result<(descriptor: Int32, offset: UInt64), SpoolError> {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(SpoolError("cannot open \(path): \(String(cString: strerror(errno)))")) }
        var offset: UInt64 = 0
        if let previous = spool.inputFile {
            let (resume, reason) = previous.resumeOffset(for: fd)
            if let reason {
                onNotice?("spool: \(reason): reading it from the start")
            } else {
                offset = resume
                tracksFileOffset.store(true, ordering: .relaxed)
                if offset > 0 { onNotice?("spool: resuming \(path) at byte \(offset) (already spooled before it)") }
            }
        }
        if offset == 0 {
            guard let identity = FileInputIdentity.of(fd: fd, path: path, firstSequence: 0) else {
                // Not a regular file (a FIFO): nothing to resume, read it as a stream.
                return .success((fd, 0))
            }
            tracksFileOffset.store(true, ordering: .relaxed)
            do { try spool.beginInputFile(identity) } catch let error as SpoolError {
                Glibc.close(fd)
                return .failure(error)
            } catch {
                Glibc.close(fd)
                return .failure(SpoolError("\(error)"))
            }
        }
        guard lseek(fd, off_t(offset), SEEK_SET) >= 0 else {
            Glibc.close(fd)
            return .failure(SpoolError("cannot seek \(path) to byte \(offset): \(String(cString: strerror(errno)))"))
        }
        return .success((fd, offset))
    }
}
