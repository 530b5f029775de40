/// A function that runs as warm worker processes behind the Lambda Runtime API (`functions.NAME`
/// in `gateway.yaml`): any runtime interface client or custom-runtime `bootstrap`.
public struct ProcessFunctionConfig: Sendable, Equatable {
    public enum PayloadFormat: String, Sendable, Equatable {
        /// HTTP API's event and response.
        case v2 = "2.0"
        /// REST API's proxy event and response.
        case v1 = "1.0"
    }

    public var name: String
    /// The worker's argv; `command[0]` is resolved at load (a path, or a name found on `PATH`).
    public var command: [String]
    /// `command[0]` as found when the configuration was loaded.
    public var executable: String
    /// The worker's working directory and `LAMBDA_TASK_ROOT` (default: the gateway's working directory).
    public var workdir: String
    /// Added to the worker's environment (after Lambda's own variables).
    public var environment: [String: String]
    /// Warm processes, one invocation at a time each.
    public var workers: Int
    /// Invocations that may wait for a free worker; beyond, 503 at once.
    public var queue: Int
    /// Per invocation, unless the operation's `x-gateway.timeout` says otherwise.
    public var timeout: Duration?
    public var payloadFormat: PayloadFormat
    /// `_HANDLER`: the last `command` element unless `handler:` is given.
    public var handler: String
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB (the gateway does not enforce it).
    public var memorySize: Int
    /// `AWS_REGION` and `AWS_DEFAULT_REGION`.
    public var region: String
    /// The line of `functions.NAME` in its file, for messages.
    public var line: Int?

    public init(name: String, command: [String], executable: String, workdir: String, environment: [String: String] = [:],
                workers: Int = 1, queue: Int = 64, timeout: Duration? = nil, payloadFormat: PayloadFormat = .v2,
                handler: String? = nil, memorySize: Int = 128, region: String = "us-east-1", line: Int? = nil) {
        self.name = name
        self.command = command
        self.executable = executable
        self.workdir = workdir
        self.environment = environment
        self.workers = workers
        self.queue = queue
        self.timeout = timeout
        self.payloadFormat = payloadFormat
        self.handler = handler ?? command.last ?? ""
        self.memorySize = memorySize
        self.region = region
        self.line = line
    }

    /// Whether a running pool for `other` can serve this configuration unchanged (a reload keeps it).
    public func sameWorkers(as other: ProcessFunctionConfig) -> Bool {
        var a = self, b = other
        a.line = nil
        b.line = nil
        a.timeout = nil
        b.timeout = nil
        return a == b
    }
}
