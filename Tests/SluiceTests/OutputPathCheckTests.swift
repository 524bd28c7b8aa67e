import Foundation
import Testing
@testable import SluiceCLI

/// `--summary` and `--dead-letter` are checked before any input is read, naming the flag and the real cause.
@Suite("Output paths checked before the run")
struct OutputPathCheckTests {
    typealias S = PipelineTestSupport

    private static let input = Array((0..<20).map { S.eventLine($0) }.joined(separator: "\n").utf8) + [0x0A]

    /// Runs `sluice` with one bad output flag and the same 20 events on stdin; the run must stop before reading.
    private func expectRefused(_ flag: String, _ path: String, cause: String) throws {
        let run = try SluiceExecutable.run([flag, path], input: Self.input)
        #expect(run.status == 2)
        #expect(run.stderr == "sluice: \(flag): cannot write \(path): \(cause)\n")
        #expect(run.stdout.isEmpty, "events were read and delivered before the path was checked")
    }

    @Test("a path in a directory that does not exist names that directory", arguments: ["--summary", "--dead-letter"])
    func missingDirectory(flag: String) throws {
        let missing = NSTemporaryDirectory() + "sluice-missing-\(UUID().uuidString)/dir"
        try expectRefused(flag, missing + "/x.json", cause: "directory \(missing) does not exist")
    }

    @Test("a path that is a directory says so", arguments: ["--summary", "--dead-letter"])
    func isDirectory(flag: String) throws {
        let directory = S.temporaryPath("a-directory")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try expectRefused(flag, directory, cause: "is a directory")
    }

    @Test("a path under a regular file says that the file is not a directory")
    func underAFile() throws {
        let file = S.temporaryPath("plain")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        try expectRefused("--dead-letter", file + "/x", cause: "\(file) is not a directory")
    }

    @Test("a file that cannot be opened for writing reports permission denied", arguments: ["--summary", "--dead-letter"])
    func permissionDenied(flag: String) throws {
        // Even root may not write this file on Linux; elsewhere, a file made read-only (root bypasses that).
        let path: String
        if FileManager.default.fileExists(atPath: "/proc/sys/kernel/osrelease") {
            path = "/proc/sys/kernel/osrelease"
        } else {
            path = S.temporaryPath("read-only")
            try Data().write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
            guard getuid() != 0 else {
                print("skipped: running as root, which may write a read-only file, and /proc/sys is not there")
                return
            }
        }
        try expectRefused(flag, path, cause: "permission denied")
    }

    @Test("writable paths pass the check, and an existing dead-letter file is left as it was until the run appends")
    func writablePaths() throws {
        #expect(OutputPathCheck.cause(S.temporaryPath("new.json")) == nil)
        #expect(OutputPathCheck.cause("relative-new-file.json") == nil)
        let existing = S.temporaryPath("existing.ndjson")
        try Data("kept\n".utf8).write(to: URL(fileURLWithPath: existing))
        let summary = S.temporaryPath("summary.json")
        let run = try SluiceExecutable.run(["--dead-letter", existing, "--summary", summary, "--quiet"], input: Self.input)
        #expect(run.status == 0)
        #expect(run.stdout.split(separator: "\n").count == 20)
        #expect(String(decoding: FileManager.default.contents(atPath: existing) ?? Data(), as: UTF8.self) == "kept\n")
        #expect(FileManager.default.fileExists(atPath: summary))
    }

    @Test("the parent of a path is its directory, `.` for a bare name and `/` at the root")
    func parents() {
        #expect(OutputPathCheck.parent(of: "/missing/dir/x") == "/missing/dir")
        #expect(OutputPathCheck.parent(of: "x.json") == ".")
        #expect(OutputPathCheck.parent(of: "/x.json") == "/")
    }
}
