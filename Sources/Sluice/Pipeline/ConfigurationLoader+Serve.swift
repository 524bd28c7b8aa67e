extension ConfigurationDecoder {
    /// Reads the `"serve"` object.
    func serve(_ object: JSONObject) throws(ConfigurationError) -> ServeConfiguration {
        try object.allowOnly(["listen", "maxBodyBytes", "statsigKeys", "segmentWriteKeys", "maxConnections", "readTimeoutMs",
                              "idleTimeoutMs", "trustedProxies", "queueWaitMs", "maxInFlightBodyBytes"])
        let defaults = ServeConfiguration()
        return ServeConfiguration(
            listen: try object.string("listen") ?? defaults.listen,
            maxBodyBytes: try object.int("maxBodyBytes") ?? defaults.maxBodyBytes,
            statsigKeys: try object.strings("statsigKeys") ?? defaults.statsigKeys,
            segmentWriteKeys: try object.strings("segmentWriteKeys") ?? defaults.segmentWriteKeys,
            maxConnections: try object.int("maxConnections") ?? defaults.maxConnections,
            readTimeoutMs: try object.int("readTimeoutMs") ?? defaults.readTimeoutMs,
            idleTimeoutMs: try object.int("idleTimeoutMs") ?? defaults.idleTimeoutMs,
            trustedProxies: try object.strings("trustedProxies") ?? defaults.trustedProxies,
            queueWaitMs: try object.int("queueWaitMs") ?? defaults.queueWaitMs,
            maxInFlightBodyBytes: try object.int("maxInFlightBodyBytes") ?? defaults.maxInFlightBodyBytes)
    }
}
