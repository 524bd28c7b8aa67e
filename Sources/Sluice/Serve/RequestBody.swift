/// Turns a received body into the bytes the decoder reads: gzip undone (announced by `Content-Encoding`,
/// by Statsig's `gz=1`, or only by its magic bytes, as beacons and some SDKs send it), size-checked after
/// decompression too, so a small compressed body cannot expand past `maxBodyBytes`.
enum RequestBody {
    enum Outcome {
        case success([UInt8])
        case failure(HTTPServerResponse)
    }

    static func decoded(_ request: HTTPServerRequest, maxBytes: Int) -> Outcome {
        var gzip = false
        if let encoding = request.header("Content-Encoding") {
            for coding in encoding.lowercased()[...].split(separator: ",").map({ $0.trimmingSpaces }) where !coding.isEmpty {
                switch coding {
                case "gzip", "x-gzip": gzip = true
                case "identity": break
                default:
                    return .failure(HTTPServerResponse.error(415, "unsupported Content-Encoding \"\(coding)\" (gzip and identity are accepted)"))
                }
            }
        }
        if request.queryParameter("gz") == "1" || Gzip.hasMagic(request.body) { gzip = true }
        guard gzip, !request.body.isEmpty else { return .success(request.body) }
        do {
            return .success(try Gzip.decompress(request.body, limit: maxBytes))
        } catch .tooLarge(let limit) {
            return .failure(HTTPServerResponse.error(413, "decompressed body larger than \(limit) bytes (serve.maxBodyBytes)"))
        } catch {
            var response = HTTPServerResponse.error(400, "\(error)")
            response.closeConnection = true
            return .failure(response)
        }
    }
}
