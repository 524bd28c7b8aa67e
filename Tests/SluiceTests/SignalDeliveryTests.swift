import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGTERM and SIGINT are caught from the first line of `main`: one sent at any moment of a run is never lost
/// (a lost SIGTERM left a relay polling forever instead of draining).
@Suite("Signals reach the drain whenever they arrive")
struct SignalDeliveryTests {
    @Test("a SIGTERM sent the moment serve says it listens drains it: 20 starts, each exits 0 with its summary")
    func serveStopsOnAnEarlySIGTERM() async throws {
        try await SluiceExecutable.offPool {
            for attempt in 0..<20 {
                let serve = try ServeProcess()
                let status = serve.terminate()
                #expect(status == 0, "start \(attempt): exit \(status); stderr: \(serve.stderr)")
                #expect(FileManager.default.fileExists(atPath: serve.summaryPath), "start \(attempt): no summary")
                if status != 0 { break }
            }
        }
    }

    @Test("a SIGTERM right after a stdin run starts (no input yet) ends it within seconds, never a hang")
    func stdinRunStopsOnAnImmediateSIGTERM() async throws {
        try await SluiceExecutable.offPool {
            for attempt in 0..<10 {
                let running = try SluiceExecutable.start(["--quiet"])
                usleep(UInt32(attempt) * 20_000)  // 0-180 ms: before, during and after start-up
                kill(running.process.processIdentifier, SIGTERM)
                let deadline = Date().addingTimeInterval(60)
                while running.process.isRunning && Date() < deadline { usleep(10_000) }
                let hung = running.process.isRunning
                #expect(!hung, "attempt \(attempt): still running 60 s after SIGTERM")
                if hung { kill(running.process.processIdentifier, SIGKILL) }
                running.process.waitUntilExit()
                try? running.stdin.close()
                // Once main has started, the signal drains (exit 0); only before that may it end the process itself.
                if running.process.terminationReason == .exit {
                    #expect(running.process.terminationStatus == 0, "attempt \(attempt)")
                } else {
                    #expect(running.process.terminationStatus == SIGTERM, "attempt \(attempt)")
                }
            }
        }
    }
}
