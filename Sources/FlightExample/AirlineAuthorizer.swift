import GatewayCore
import GatewayFunctions

/// `airlines.authorize`: the example's authorizer, a local function standing in for an airline
/// identity service. It reads a TOKEN event and knows one demo token per airline,
/// `Bearer demo-XX` for the two-letter airline code XX; anything else is denied. An allowed airline
/// gets an IAM policy for `GET /alerts` only, and `{"airline": "XX"}` as context, which
/// `alerts.list` uses to show an airline its own flights' alerts. Replace it with a real
/// identity check (or an `x-gateway-jwt` scheme) before using the example for anything real.
public struct AirlineAuthorizer: AuthorizerFunction {
    public init() {}

    public func authorize(_ event: JSONValue, context: FunctionContext) async throws -> JSONValue {
        let token = event["authorizationToken"]?.stringValue ?? ""
        guard token.hasPrefix("Bearer demo-") else { return ["isAuthorized": false] }
        let airline = String(token.dropFirst("Bearer demo-".count))
        guard airline.count == 2, airline.allSatisfy({ $0.isUppercase || $0.isNumber }) else {
            return ["isAuthorized": false]
        }
        context.logger.info("airline authorized", metadata: ["airline": "\(airline)"])
        let methodArn = event["methodArn"]?.stringValue ?? ""
        // arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH → allow GET /alerts on this API and stage.
        let prefix = methodArn.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).prefix(2).joined(separator: "/")
        return [
            "principalId": .string(airline),
            "policyDocument": ["Version": "2012-10-17", "Statement": [
                ["Effect": "Allow", "Action": "execute-api:Invoke", "Resource": .string(prefix + "/GET/alerts")],
            ]],
            "context": ["airline": .string(airline)],
        ]
    }
}
