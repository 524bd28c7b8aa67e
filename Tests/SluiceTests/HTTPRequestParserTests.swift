import Testing
@testable import Sluice

@Suite("HTTPRequestParser")
struct HTTPRequestParserTests {
    /// Feeds `input` in pieces of `blockSize` bytes and collects the complete requests (or the first error).
    func parse(_ input: String, blockSize: Int = 1 << 20, limits: HTTPParserLimits = HTTPParserLimits()) -> Result<[HTTPServerRequest], HTTPParseError> {
        var parser = HTTPRequestParser(limits: limits)
        var requests: [HTTPServerRequest] = []
        let bytes = Array(input.utf8)
        var offset = 0
        do {
            while offset < bytes.count {
                let end = min(bytes.count, offset + blockSize)
                Array(bytes[offset..<end]).withUnsafeBytes { parser.append($0) }
                offset = end
                while let event = try parser.next() {
                    if case .request(let request) = event { requests.append(request) }
                }
            }
        } catch {
            return .failure(error)
        }
        return .success(requests)
    }

    func status(_ input: String, limits: HTTPParserLimits = HTTPParserLimits()) -> Int? {
        if case .failure(let error) = parse(input, limits: limits) { return error.status }
        return nil
    }

    @Test("a Content-Length request parses whole at every split point, with path, query, headers and body")
    func contentLengthEverySplit() throws {
        let input = "POST /v1/rgstr?k=client-key&gz=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nSTATSIG-API-KEY: secret\r\n\r\nhello"
        for size in 1...input.utf8.count {
            let requests = try parse(input, blockSize: size).get()
            #expect(requests.count == 1, "block size \(size)")
            let request = try #require(requests.first)
            #expect(request.method == "POST")
            #expect(request.path == "/v1/rgstr")
            #expect(request.queryParameter("k") == "client-key")
            #expect(request.queryParameter("gz") == "1")
            #expect(request.header("statsig-api-key") == "secret")
            #expect(request.body == Array("hello".utf8))
            #expect(request.keepAlive)
        }
    }

    @Test("chunked bodies are joined, extensions and trailers ignored, at every split point")
    func chunked() throws {
        let input = "POST /v1/batch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n"
        for size in 1...input.utf8.count {
            let requests = try parse(input, blockSize: size).get()
            #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == ["hello world"], "block size \(size)")
        }
    }

    @Test("pipelined keep-alive requests come out in order; HTTP/1.0 and Connection: close end keep-alive")
    func pipelined() throws {
        let input = "GET /healthz HTTP/1.1\r\n\r\nPOST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\nConnection: close\r\n\r\nGET /c HTTP/1.0\r\n\r\n"
        let requests = try parse(input).get()
        #expect(requests.map(\.path) == ["/healthz", "/a", "/b", "/c"])
        #expect(requests.map(\.keepAlive) == [true, true, false, false])
    }

    @Test("malformed request lines are 400, unsupported versions 505")
    func badRequestLine() {
        #expect(status("GARBAGE\r\n\r\n") == 400)
        #expect(status("GET /\r\n\r\n") == 400)
        #expect(status("GET  / HTTP/1.1\r\n\r\n") == 400)
        #expect(status("GET / HTTP/9\r\n\r\n") == 400)
        #expect(status("GET nopath HTTP/1.1\r\n\r\n") == 400)
        #expect(status("G(T / HTTP/1.1\r\n\r\n") == 400)
        #expect(status("GET / HTTP/2.0\r\n\r\n") == 505)
    }

    @Test("bad, conflicting and oversized Content-Length are rejected; CL with TE is 400; other codings 501")
    func framingErrors() {
        #expect(status("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n") == 400)
        #expect(status("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n") == 400)
        #expect(status("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n") == 400)
        #expect(status("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n") == 400)
        #expect(status("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400)
        #expect(status("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == 501)
        #expect(status("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits: HTTPParserLimits(maxBodyBytes: 10)) == 413)
        #expect(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello world\r\n0\r\n\r\n", limits: HTTPParserLimits(maxBodyBytes: 10)) == 413)
        #expect(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == 400)
        #expect(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n") == 400)
    }

    @Test("a body longer than its Content-Length is read as the next request, which is then malformed")
    func bodyLongerThanDeclared() {
        #expect(status("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{\"events\":[]}\r\n") == 400)
    }

    @Test("header size and count are bounded (431), folding and space before the colon rejected")
    func headerBounds() {
        let big = String(repeating: "a", count: 20_000)
        #expect(status("GET / HTTP/1.1\r\nX: \(big)\r\n\r\n") == 431)
        #expect(status("GET /\(big) HTTP/1.1\r\n\r\n") == 414)
        let many = (0..<101).map { "X-\($0): v\r\n" }.joined()
        #expect(status("GET / HTTP/1.1\r\n\(many)\r\n") == 431)
        #expect(status("GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nX : a\r\n\r\n") == 400)
        // An unterminated head is refused once it passes the limit, not buffered without bound.
        var parser = HTTPRequestParser(limits: HTTPParserLimits(maxHeaderBytes: 1024))
        Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 4096)).utf8).withUnsafeBytes { parser.append($0) }
        #expect(throws: HTTPParseError.self) { _ = try parser.next() }
    }

    @Test("the head is reported before the body arrives, and the parser is idle only between requests")
    func headFirst() throws {
        var parser = HTTPRequestParser(limits: HTTPParserLimits())
        #expect(parser.isIdle)
        Array("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8).withUnsafeBytes { parser.append($0) }
        guard case .head(let head) = try parser.next() else { Issue.record("expected the head"); return }
        #expect(head.header("expect") == "100-continue")
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle)
        Array("abc".utf8).withUnsafeBytes { parser.append($0) }
        guard case .request(let request) = try parser.next() else { Issue.record("expected the request"); return }
        #expect(request.body == Array("abc".utf8))
        #expect(parser.isIdle)
    }
}
