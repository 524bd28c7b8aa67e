extension RedisEndpoint {
    /// This endpoint with its credentials: the configuration's, else `REDIS_USERNAME` / `REDIS_PASSWORD` from the
    /// environment (never the command line, where `ps` shows them). An empty password means none.
    func withCredentials(username: String?, password: String?, environment: [String: String]) -> RedisEndpoint {
        var endpoint = self
        endpoint.username = username ?? environment["REDIS_USERNAME"]
        endpoint.password = password ?? environment["REDIS_PASSWORD"]
        if endpoint.password?.isEmpty == true { endpoint.password = nil }
        return endpoint
    }
}
