extension SpoolConfiguration {
    /// Reads the `"spool"` object of a configuration file: `{"path", "maxBytes", "sync", "syncIntervalMs"}`.
    init(_ object: JSONObject) throws(ConfigurationError) {
        try object.allowOnly(["path", "maxBytes", "sync", "syncIntervalMs"])
        guard let path = try object.string("path") else {
            throw ConfigurationError(keyPath: object.path(for: "path"), message: "required: the spool directory")
        }
        let defaults = SpoolConfiguration(path: path)
        var sync = defaults.sync
        if let name = try object.string("sync") {
            guard let mode = SyncMode(rawValue: name) else {
                throw ConfigurationError(keyPath: object.path(for: "sync"),
                                         message: "unknown sync mode \"\(name)\" (expected one of always, interval, none)")
            }
            sync = mode
        }
        self.init(path: path, maxBytes: try object.int("maxBytes") ?? defaults.maxBytes, sync: sync,
                  syncIntervalMs: try object.int("syncIntervalMs") ?? defaults.syncIntervalMs)
    }
}
