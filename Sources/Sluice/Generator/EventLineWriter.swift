/// Writes single generated lines as bytes: the event content of ``EventGenerator``.
///
/// Every field is derived from the seed and a ``GeneratedEvent`` (per-event draws) or the user index (per-user
/// attributes, via a stateless hash), so writing the same event twice yields the same bytes. Output goes straight
/// into a raw block through ``ByteCursor``: no strings, no Foundation, no per-event allocation.
struct EventLineWriter: Sendable {
    /// Upper bound on one line's length, which the caller reserves before each line.
    let maximumLineBytes: Int

    private let seed: UInt64
    private let userSalt: UInt64
    private let users: UInt64
    private let userIDWidth: Int
    /// Cumulative kind thresholds over 0..<2^32, in ``Kind`` order.
    private let thresholds: [UInt64]
    private let padding: [UInt8]

    private enum Kind: Int {
        case gate, config, experiment, layer, custom, `internal`
    }

    init(options: EventGenerator.Options) {
        seed = options.seed
        userSalt = SplitMix64.mix(options.seed ^ 0x05E2_5A17_0000_0000)
        users = UInt64(max(1, options.users))
        var width = 6
        var limit: UInt64 = 1_000_000
        while users > limit, width < 19 {
            width += 1
            limit = limit &* 10
        }
        userIDWidth = width
        let padBytes = max(0, options.extraMetadataBytes)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        padding = (0..<padBytes).map { alphabet[$0 % alphabet.count] }
        maximumLineBytes = 2048 + padBytes + 2 * width

        let mix = options.mix
        var weights = [mix.gateExposure, mix.configExposure, mix.experimentExposure, mix.layerExposure, mix.custom, mix.internal]
            .map { $0.isFinite && $0 > 0 ? $0 : 0 }
        if weights.reduce(0, +) <= 0 {
            let fallback = EventGenerator.Mix()
            weights = [fallback.gateExposure, fallback.configExposure, fallback.experimentExposure,
                       fallback.layerExposure, fallback.custom, fallback.internal]
        }
        let total = weights.reduce(0, +)
        var running = 0.0
        thresholds = weights.map { weight in
            running += weight
            // Exactly 2^32 once the total is reached, so rounding can never hand a draw to a zero-weight kind.
            return running >= total ? 1 << 32 : UInt64(running / total * 4_294_967_296)
        }
    }

    // MARK: - Events

    /// Writes one event line including its newline; returns whether the event is internal.
    func writeEvent(_ event: GeneratedEvent, to out: inout ByteCursor) -> Bool {
        var random = SplitMix64(seed: SplitMix64.mix(seed ^ (event.index &* 0xD1B5_4A32_D192_ED03)))
        let kindDraw = random.next() >> 32
        var kindIndex = 0
        while kindIndex < thresholds.count - 1, kindDraw >= thresholds[kindIndex] { kindIndex += 1 }
        let kind = Kind(rawValue: kindIndex)!
        let user = random.next(upperBound: users)
        let userHash = SplitMix64.mix(userSalt ^ user)
        let customName = random.nextInt(Catalog.customEvents.count)

        out.append(#"{"eventName":""#)
        switch kind {
        case .gate: out.append("statsig::gate_exposure")
        case .config: out.append("statsig::config_exposure")
        case .experiment: out.append("statsig::experiment_exposure")
        case .layer: out.append("statsig::layer_exposure")
        case .custom: out.append(Catalog.customEvents[customName])
        case .internal: out.append(customName & 1 == 0 ? "statsig::diagnostics" : "statsig::non_exposed_checks")
        }
        out.append(#"","user":"#)
        writeUser(user, hash: userHash, to: &out)
        out.append(#","userID":""#)
        writeUserID(user, to: &out)
        out.append(#"","timestamp":"#)
        let timestampStart = out.position
        out.appendDecimal(event.milliseconds)
        let timestampLength = out.position - timestampStart
        out.append(#","value":"#)
        if kind == .custom {
            writeCustomValue(&random, to: &out)
        } else {
            out.append("null")
        }
        out.append(#","metadata":{"#)
        switch kind {
        case .gate:
            out.append(#""gate":""#)
            out.append(Catalog.gates[random.nextInt(Catalog.gates.count)])
            let passes = random.next() & 1 == 0
            out.append(passes ? #"","gateValue":"true","ruleID":""# : #"","gateValue":"false","ruleID":""#)
            writeRuleID(&random, to: &out)
            writeReasonAndTime(&random, from: timestampStart, count: timestampLength, to: &out)
        case .config:
            out.append(#""config":""#)
            out.append(Catalog.configs[random.nextInt(Catalog.configs.count)])
            out.append(#"","ruleID":""#)
            writeRuleID(&random, to: &out)
            out.append(random.next() & 3 == 0 ? #"","rulePassed":"false"# : #"","rulePassed":"true"#)
            writeReasonAndTime(&random, from: timestampStart, count: timestampLength, to: &out)
        case .experiment:
            out.append(#""config":""#)
            out.append(Catalog.experiments[random.nextInt(Catalog.experiments.count)])
            let group = random.nextInt(Catalog.groups.count)
            out.append(#"","ruleID":"grp_"#)
            out.appendDecimal(UInt64(group + 1))
            out.append(#"","experimentGroupName":""#)
            out.append(Catalog.groups[group])
            writeReasonAndTime(&random, from: timestampStart, count: timestampLength, to: &out)
        case .layer:
            out.append(#""config":""#)
            out.append(Catalog.layers[random.nextInt(Catalog.layers.count)])
            out.append(#"","ruleID":"layerAssignment","allocatedExperiment":""#)
            out.append(Catalog.experiments[random.nextInt(Catalog.experiments.count)])
            out.append(#"","parameterName":""#)
            out.append(Catalog.parameters[random.nextInt(Catalog.parameters.count)])
            out.append(random.next() & 1 == 0 ? #"","isExplicitParameter":"true""# : #"","isExplicitParameter":"false""#)
        case .custom:
            out.append(#""source":""#)
            out.append(Catalog.sources[random.nextInt(Catalog.sources.count)])
            out.append(#"","page":"/p/"#)
            out.appendDecimal(random.next(upperBound: 50))
            out.append(UInt8(ascii: "\""))
            if customName == 0 {  // purchase
                out.append(#","currency":"USD","items":""#)
                out.appendDecimal(1 + random.next(upperBound: 5))
                out.append(UInt8(ascii: "\""))
            }
            if !padding.isEmpty {
                out.append(#","pad":""#)
                padding.withUnsafeBufferPointer { out.append($0) }
                out.append(UInt8(ascii: "\""))
            }
        case .internal:
            if customName & 1 == 0 {
                out.append(#""context":"initialize","markers":"[]""#)
            } else {
                out.append(#""checks":"{\""#)
                out.append(Catalog.gates[random.nextInt(Catalog.gates.count)])
                out.append(#"\":"#)
                out.appendDecimal(1 + random.next(upperBound: 9))
                out.append(#"}""#)
            }
        }
        out.append(#"},"statsigMetadata":{"sdkType":""#)
        let sdk = Int(truncatingIfNeeded: (userHash >> 8) % UInt64(Catalog.sdks.count))
        out.append(Catalog.sdks[sdk].type)
        out.append(#"","sdkVersion":""#)
        out.append(Catalog.sdks[sdk].version)
        out.append(#""},"timeUUID":""#)
        writeTimeUUID(event, clockSequence: random.next(), to: &out)
        out.append(#"","unitID":""#)
        writeUserID(user, to: &out)
        out.append("\"}\n")
        return kind == .internal
    }

    /// Per-user attributes are a function of the user index alone, so a user looks the same in every event.
    private func writeUser(_ user: UInt64, hash: UInt64, to out: inout ByteCursor) {
        out.append(#"{"userID":""#)
        writeUserID(user, to: &out)
        out.append(#"","customIDs":{"stableID":"s-"#)
        out.appendHex(hash, digits: 8)
        out.append(UInt8(ascii: "\""))
        if (hash >> 32) % 100 < 30 {
            out.append(#","companyID":"c_"#)
            out.appendDecimal((hash >> 40) % 100)
            out.append(UInt8(ascii: "\""))
        }
        out.append(#"},"statsigEnvironment":{"tier":"production"}"#)
        if (hash >> 48) % 100 < 25 {
            out.append(#","email":"user"#)
            out.appendDecimal(user)
            out.append(#"@example.com""#)
        }
        if (hash >> 56) % 10 == 0 {
            let place = Int(truncatingIfNeeded: (hash >> 20) % UInt64(Catalog.places.count))
            out.append(#","country":""#)
            out.append(Catalog.places[place].country)
            out.append(#"","locale":""#)
            out.append(Catalog.places[place].locale)
            out.append(#"","appVersion":"3.1."#)
            out.appendDecimal((hash >> 16) % 10)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
    }

    @inline(__always)
    private func writeUserID(_ user: UInt64, to out: inout ByteCursor) {
        out.append("u_")
        out.appendDecimal(user, width: userIDWidth)
    }

    private func writeRuleID(_ random: inout SplitMix64, to out: inout ByteCursor) {
        let rule = random.next(upperBound: 10)
        if rule == 0 {
            out.append("default")
        } else {
            out.append("rule_")
            out.appendDecimal(rule)
        }
    }

    /// Closes the preceding string value and adds `"reason"` and `"time"` (the timestamp as a string, as exports
    /// carry it), copying the digits already written for `timestamp`.
    private func writeReasonAndTime(
        _ random: inout SplitMix64, from start: UnsafeMutablePointer<UInt8>, count: Int, to out: inout ByteCursor
    ) {
        out.append(#"","reason":""#)
        out.append(Catalog.reasons[random.nextInt(Catalog.reasons.count)])
        out.append(#"","time":""#)
        out.append(from: start, count: count)
        out.append(UInt8(ascii: "\""))
    }

    /// Custom-event values cover every JSON type the engine must carry: string (most, as in exports), number, null.
    private func writeCustomValue(_ random: inout SplitMix64, to out: inout ByteCursor) {
        let draw = random.next(upperBound: 20)
        switch draw {
        case 0..<4:
            out.append("null")
        case 4..<8:
            out.appendDecimal(1 + random.next(upperBound: 200))
            out.append(UInt8(ascii: "."))
            out.appendDecimal(random.next(upperBound: 100), width: 2)
        case 8..<11:
            out.appendDecimal(random.next(upperBound: 100))
        case 11..<15:
            out.append(#""SKU-"#)
            out.appendDecimal(random.next(upperBound: 50))
            out.append(UInt8(ascii: "\""))
        default:
            out.append(UInt8(ascii: "\""))
            out.appendDecimal(random.next(upperBound: 100))
            out.append(UInt8(ascii: "\""))
        }
    }

    /// RFC 4122 version 1: 60-bit count of 100-ns intervals since 1582-10-15, split into time_low, time_mid and
    /// time_hi (with the version nibble), then a 14-bit clock sequence with the RFC 4122 variant, then a node ID.
    private func writeTimeUUID(_ event: GeneratedEvent, clockSequence: UInt64, to out: inout ByteCursor) {
        let gregorianOffsetMilliseconds: Int64 = 12_219_292_800_000
        let time = UInt64(bitPattern: (event.milliseconds &+ gregorianOffsetMilliseconds) &* 10_000) &+ UInt64(event.tick)
        out.appendHex(time, digits: 8)
        out.append(UInt8(ascii: "-"))
        out.appendHex(time >> 32, digits: 4)
        out.append(UInt8(ascii: "-"))
        out.appendHex(0x1000 | ((time >> 48) & 0x0FFF), digits: 4)
        out.append(UInt8(ascii: "-"))
        out.appendHex(0x8000 | (clockSequence & 0x3FFF), digits: 4)
        // The node of the export sample (a Docker-style MAC); exports come from one collector.
        out.append("-0242ac120002")
    }

    // MARK: - Broken lines

    /// Writes one broken line including its newline. Three kinds, so the engine's rejection paths all run:
    /// a truncated event (never complete JSON), stray bytes starting with invalid UTF-8, and well-formed JSON
    /// whose `eventName` is not a string (or that is not an object at all).
    func writeInvalid(lineNumber: Int, milliseconds: Int64, to out: inout ByteCursor) {
        var random = SplitMix64(seed: SplitMix64.mix(seed ^ 0xBAD0_11E5_0000_0000 ^ UInt64(lineNumber)))
        let start = out.position
        switch random.next(upperBound: 4) {
        case 0, 1:
            // A truncated copy of an event that is never emitted whole, cut anywhere before its closing brace.
            let event = GeneratedEvent(index: 1 << 63 | UInt64(lineNumber), milliseconds: milliseconds, tick: 0)
            _ = writeEvent(event, to: &out)
            let complete = out.position - start - 1  // without the newline
            out.position = start + 1 + random.nextInt(complete - 1)
        case 2:
            out.append(0xFF)
            out.append(0xFE)
            for _ in 0..<(6 + random.next(upperBound: 40)) {
                let byte = UInt8(truncatingIfNeeded: random.next())
                out.append(byte == 0x0A || byte == 0x0D ? UInt8(ascii: "?") : byte)
            }
        default:
            let variant = random.next(upperBound: 5)
            switch variant {
            case 0: out.append(#"{"eventName":12345,"user":{"userID":"u_1"},"timestamp":"#)
            case 1: out.append(#"{"eventName":null,"user":{"userID":"u_1"},"timestamp":"#)
            case 2: out.append(#"{"eventName":["purchase"],"user":{"userID":"u_1"},"timestamp":"#)
            case 3: out.append(#"["statsig::gate_exposure",{"userID":"u_1"},"#)
            default: out.append(#"{"eventName":{"name":"purchase"},"user":"u_1","timestamp":"#)
            }
            out.appendDecimal(milliseconds)
            out.append(variant == 3 ? UInt8(ascii: "]") : UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "\n"))
    }
}
