#if canImport(CCurlShim) && canImport(Glibc)
import CCurlShim
import Glibc

/// The few libcurl entry points ``CurlTransport`` uses, resolved with `dlopen("libcurl.so.4")` and `dlsym`.
///
/// libcurl's headers are not installed where Sluice builds (only the shared library, which FoundationNetworking
/// links anyway), so the functions and constants are declared here from libcurl's documented, stable ABI:
/// options, info codes and result codes are `int`s, handles are opaque pointers. The variadic
/// `curl_easy_setopt`, `curl_easy_getinfo` and `curl_multi_setopt` are called through the C shim in `CCurlShim`
/// with their real prototype. `curl_multi_poll` and `curl_multi_wakeup` need libcurl 7.68 (2020); an older
/// library is treated as absent and the URLSession transport is used instead.
///
/// The function table is immutable after loading and libcurl's functions may be called from any thread (each
/// handle from one thread at a time, which ``CurlMultiLoop`` guarantees), so sharing it is safe.
struct LibCurl: @unchecked Sendable {
    // @unchecked: every stored property is a `let` holding a C function address or the dlopen handle, never
    // written after `load()`; calling the functions is libcurl's thread-safety business (see above).
    typealias EasyInit = @convention(c) () -> OpaquePointer?
    typealias EasyCleanup = @convention(c) (OpaquePointer?) -> Void
    typealias EasyStrerror = @convention(c) (Int32) -> UnsafePointer<CChar>?
    typealias MultiInit = @convention(c) () -> OpaquePointer?
    typealias MultiCleanup = @convention(c) (OpaquePointer?) -> Int32
    typealias MultiHandleOp = @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32
    typealias MultiPerform = @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?) -> Int32
    typealias MultiPoll = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UInt32, Int32,
                                          UnsafeMutablePointer<Int32>?) -> Int32
    typealias MultiWakeup = @convention(c) (OpaquePointer?) -> Int32
    typealias MultiInfoRead = @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?) -> UnsafeMutableRawPointer?
    typealias SlistAppend = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> OpaquePointer?
    typealias SlistFreeAll = @convention(c) (OpaquePointer?) -> Void
    typealias GlobalInit = @convention(c) (Int) -> Int32

    let easyInit: EasyInit
    let easyCleanup: EasyCleanup
    let easyStrerror: EasyStrerror
    let multiInit: MultiInit
    let multiCleanup: MultiCleanup
    let multiAdd: MultiHandleOp
    let multiRemove: MultiHandleOp
    let multiPerform: MultiPerform
    let multiPoll: MultiPoll
    let multiWakeup: MultiWakeup
    let multiInfoRead: MultiInfoRead
    let slistAppend: SlistAppend
    let slistFreeAll: SlistFreeAll
    private let easySetoptAddress: UnsafeMutableRawPointer
    private let easyGetinfoAddress: UnsafeMutableRawPointer
    private let multiSetoptAddress: UnsafeMutableRawPointer

    /// The library, loaded once per process; nil when `libcurl.so.4` (7.68 or later) is not there.
    static let shared: LibCurl? = load()

    private static func load() -> LibCurl? {
        guard let library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL) else { return nil }
        func symbol(_ name: String) -> UnsafeMutableRawPointer? { dlsym(library, name) }
        func function<F>(_ name: String, as type: F.Type) -> F? {
            symbol(name).map { unsafeBitCast($0, to: type) }
        }
        guard let easyInit = function("curl_easy_init", as: EasyInit.self),
              let easyCleanup = function("curl_easy_cleanup", as: EasyCleanup.self),
              let easyStrerror = function("curl_easy_strerror", as: EasyStrerror.self),
              let multiInit = function("curl_multi_init", as: MultiInit.self),
              let multiCleanup = function("curl_multi_cleanup", as: MultiCleanup.self),
              let multiAdd = function("curl_multi_add_handle", as: MultiHandleOp.self),
              let multiRemove = function("curl_multi_remove_handle", as: MultiHandleOp.self),
              let multiPerform = function("curl_multi_perform", as: MultiPerform.self),
              let multiPoll = function("curl_multi_poll", as: MultiPoll.self),
              let multiWakeup = function("curl_multi_wakeup", as: MultiWakeup.self),
              let multiInfoRead = function("curl_multi_info_read", as: MultiInfoRead.self),
              let slistAppend = function("curl_slist_append", as: SlistAppend.self),
              let slistFreeAll = function("curl_slist_free_all", as: SlistFreeAll.self),
              let globalInit = function("curl_global_init", as: GlobalInit.self),
              let easySetopt = symbol("curl_easy_setopt"),
              let easyGetinfo = symbol("curl_easy_getinfo"),
              let multiSetopt = symbol("curl_multi_setopt") else {
            dlclose(library)
            return nil
        }
        // CURL_GLOBAL_ALL. Repeated calls are reference-counted, and FoundationNetworking makes its own.
        guard globalInit(3) == 0 else { return nil }
        return LibCurl(easyInit: easyInit, easyCleanup: easyCleanup, easyStrerror: easyStrerror, multiInit: multiInit,
                       multiCleanup: multiCleanup, multiAdd: multiAdd, multiRemove: multiRemove,
                       multiPerform: multiPerform, multiPoll: multiPoll, multiWakeup: multiWakeup,
                       multiInfoRead: multiInfoRead, slistAppend: slistAppend, slistFreeAll: slistFreeAll,
                       easySetoptAddress: easySetopt, easyGetinfoAddress: easyGetinfo, multiSetoptAddress: multiSetopt)
    }

    @discardableResult
    func setopt(_ easy: OpaquePointer, _ option: Option, _ value: Int) -> Int32 {
        sluice_curl_call_long(easySetoptAddress, UnsafeMutableRawPointer(easy), option.rawValue, value)
    }

    @discardableResult
    func setopt(_ easy: OpaquePointer, _ option: Option, _ value: UnsafeRawPointer?) -> Int32 {
        sluice_curl_call_pointer(easySetoptAddress, UnsafeMutableRawPointer(easy), option.rawValue, value)
    }

    @discardableResult
    func setopt(_ easy: OpaquePointer, _ option: Option, offset value: Int64) -> Int32 {
        sluice_curl_call_off_t(easySetoptAddress, UnsafeMutableRawPointer(easy), option.rawValue, value)
    }

    /// A `long` piece of information about a finished transfer (0 when libcurl has none).
    func info(_ easy: OpaquePointer, _ info: Info) -> Int {
        var value = 0
        _ = withUnsafeMutablePointer(to: &value) { pointer in
            sluice_curl_call_pointer(easyGetinfoAddress, UnsafeMutableRawPointer(easy), info.rawValue, pointer)
        }
        return value
    }

    @discardableResult
    func multiSetopt(_ multi: OpaquePointer, _ option: MultiOption, _ value: Int) -> Int32 {
        sluice_curl_call_long(multiSetoptAddress, UnsafeMutableRawPointer(multi), option.rawValue, value)
    }

    /// libcurl's fixed, host-free text for a result code, e.g. "SSL peer certificate or SSH remote key was not OK".
    func describe(_ code: Int32) -> String {
        easyStrerror(code).map { String(cString: $0) } ?? "error \(code)"
    }

    /// `CURLoption` values used here (`CURLOPTTYPE_LONG` 0, `OBJECTPOINT` 10000, `FUNCTIONPOINT` 20000,
    /// `OFF_T` 30000, plus the option number).
    enum Option: Int32 {
        case writeData = 10001
        case url = 10002
        case errorBuffer = 10010
        case writeFunction = 20011
        case postFields = 10015
        case httpHeader = 10023
        case headerData = 10029
        case customRequest = 10036
        case caInfo = 10065
        case noBody = 44
        case post = 47
        case followLocation = 52
        case httpGet = 80
        case noSignal = 99
        case privateData = 10103
        case headerFunction = 20079
        case postFieldSizeLarge = 30120
        case timeoutMs = 155
        case protocols = 181
        case redirectProtocols = 182
        case tcpKeepAlive = 213
    }

    /// `CURLINFO` values (`CURLINFO_LONG` is 0x200000).
    enum Info: Int32 {
        case responseCode = 0x200002
        case osErrno = 0x200019
    }

    /// `CURLMoption` values.
    enum MultiOption: Int32 {
        case maxConnects = 6
        case maxHostConnections = 7
    }

    /// `CURLcode` values the transport tells apart.
    enum Code {
        static let ok: Int32 = 0
        static let unsupportedProtocol: Int32 = 1
        static let urlMalformat: Int32 = 3
        static let couldntResolveProxy: Int32 = 5
        static let couldntResolveHost: Int32 = 6
        static let couldntConnect: Int32 = 7
        static let weirdServerReply: Int32 = 8
        static let http2: Int32 = 16
        static let partialFile: Int32 = 18
        static let operationTimedOut: Int32 = 28
        static let sslConnectError: Int32 = 35
        static let abortedByCallback: Int32 = 42
        static let gotNothing: Int32 = 52
        static let sendError: Int32 = 55
        static let recvError: Int32 = 56
        static let sslCertProblem: Int32 = 58
        static let sslCipher: Int32 = 59
        static let peerFailedVerification: Int32 = 60
        static let sslCACertBadFile: Int32 = 77
        static let sslShutdownFailed: Int32 = 80
        static let sslCRLBadFile: Int32 = 82
        static let sslIssuerError: Int32 = 83
        static let http2Stream: Int32 = 92
        static let sslClientCert: Int32 = 98
    }
}
#endif
