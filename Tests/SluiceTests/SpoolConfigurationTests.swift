import Foundation
import Testing
@testable import Sluice

@Suite("Spool configuration")
struct SpoolConfigurationTests {
    @Test("\"spool\" reads path, maxBytes, sync and syncIntervalMs, with the documented defaults")
    func parsesKeysAndDefaults() throws {
        let full = try ConfigurationLoader.parse(#"{"spool": {"path": "/var/spool/sluice", "maxBytes": 8388608, "sync": "always", "syncIntervalMs": 20}}"#)
        #expect(full.spool == SpoolConfiguration(path: "/var/spool/sluice", maxBytes: 8 << 20, sync: .always, syncIntervalMs: 20))
        let minimal = try ConfigurationLoader.parse(#"{"spool": {"path": "spool"}}"#)
        #expect(minimal.spool == SpoolConfiguration(path: "spool", maxBytes: 1 << 30, sync: .interval, syncIntervalMs: 50))
        #expect(try ConfigurationLoader.parse("{}").spool == nil)
    }

    @Test("a missing path, an unknown sync mode, an unknown key and out-of-range numbers are errors naming the key")
    func rejectsBadValues() {
        func problem(_ json: String) -> String {
            do {
                _ = try ConfigurationLoader.parse(json)
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(problem(#"{"spool": {}}"#).hasPrefix("spool.path: required"))
        #expect(problem(#"{"spool": {"path": "s", "sync": "sometimes"}}"#).hasPrefix("spool.sync: unknown sync mode \"sometimes\""))
        #expect(problem(#"{"spool": {"path": "s", "maxbytes": 1}}"#).hasPrefix("spool.maxbytes: unknown key"))
        #expect(problem(#"{"spool": {"path": "s", "maxBytes": 1000}}"#).hasPrefix("spool.maxBytes: must be between 1048576"))
        #expect(problem(#"{"spool": {"path": "s", "syncIntervalMs": 0}}"#).hasPrefix("spool.syncIntervalMs: must be between 1"))
        #expect(problem(#"{"spool": {"path": "s", "syncIntervalMs": 600000}}"#).hasPrefix("spool.syncIntervalMs: must be between 1"))
    }
}
