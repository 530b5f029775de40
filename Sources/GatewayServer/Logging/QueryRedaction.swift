import GatewayCore

/// What an access line may show of a query string: the values of parameters that carry
/// credentials — the route's API key when it is sent `in: query`, and names like `api_key`,
/// `token` or `password` (case-insensitive) — are replaced by `REDACTED`.
enum QueryRedaction {
    static let names: Set<String> = ["api_key", "apikey", "api-key", "key", "token", "access_token", "id_token",
                                     "refresh_token", "signature", "sig", "password", "passwd", "secret", "client_secret",
                                     "x-api-key", "auth", "authorization", "code"]

    static func redact(_ query: Substring, apiKeyName: String?) -> String {
        var out: [Substring] = []
        let keyName = apiKeyName?.lowercased()
        for pair in query.split(separator: "&", omittingEmptySubsequences: false) {
            let name = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let decoded = (PercentDecoding.decode(name, plusAsSpace: true) ?? String(name)).lowercased()
            if names.contains(decoded) || decoded == keyName {
                out.append(name + "=REDACTED")
            } else {
                out.append(pair)
            }
        }
        return out.joined(separator: "&")
    }
}
