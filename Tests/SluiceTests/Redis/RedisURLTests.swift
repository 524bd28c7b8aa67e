import Testing
@testable import Sluice

@Suite("Redis URLs")
struct RedisURLTests {
    @Test("Host, port, database and query parameters are read; defaults are port 6379 and database 0")
    func parts() throws {
        let url = try RedisURL.parse("redis://cache.internal:6380/2?stream=events&group=g&consumer=c1")
        #expect(url.endpoint == RedisEndpoint(host: "cache.internal", port: 6380, database: 2))
        #expect(url.parameters.map(\.name) == ["stream", "group", "consumer"])
        #expect(url.parameters.map(\.value) == ["events", "g", "c1"])
        #expect(try RedisURL.parse("redis://localhost").endpoint == RedisEndpoint(host: "localhost"))
        #expect(try RedisURL.parse("redis://[::1]:7000/").endpoint == RedisEndpoint(host: "::1", port: 7000))
    }

    @Test("rediss:// is refused because TLS needs a package")
    func tlsRefused() {
        #expect { try RedisURL.parse("rediss://h:6380") } throws: { error in
            "\(error)".contains("TLS") && "\(error)".contains("package")
        }
    }

    @Test("Credentials in the URL are refused without quoting them", arguments: ["redis://:hunter2@h", "redis://user:hunter2@h:1"])
    func credentialsRefused(url: String) {
        #expect { try RedisURL.parse(url) } throws: { error in
            "\(error)".contains("REDIS_PASSWORD") && !"\(error)".contains("hunter2")
        }
    }

    @Test("Bad database, port or scheme are clear errors", arguments: [
        ("redis://h/abc", "database number"), ("redis://h/-1", "database number"), ("redis://h:0", "port"),
        ("http://h", "redis:// URL"), ("redis://", "host"), ("redis://h/1#x", "fragment"),
    ])
    func badParts(url: String, expected: String) {
        #expect { try RedisURL.parse(url) } throws: { error in "\(error)".contains(expected) }
    }

    @Test("The printable form of an endpoint never contains the password")
    func description() {
        let endpoint = RedisEndpoint(host: "h", port: 1, database: 2, username: "u", password: "pw-secret")
        #expect(endpoint.description == "redis://h:1/2")
    }
}
