import OrchestratorProtocol

/// What a connection may do, decided by the token it presented (Unix socket connections, which are
/// owner-only, are admins).
///
/// | role | may |
/// |---|---|
/// | viewer | list, describe, show history, query, await results |
/// | responder | what a viewer may, plus start and signal workflows |
/// | operator | what a responder may, plus cancel and terminate |
/// | worker | poll, complete and fail tasks, heartbeat, answer queries, read history |
/// | admin | everything |
public enum Role: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case viewer
    case responder
    case `operator`
    case worker
    case admin

    public var description: String { rawValue }

    /// The operations this role may perform.
    public var allowed: Set<OperationName> {
        switch self {
        case .viewer: Self.viewing
        case .responder: Self.responding
        case .operator: Self.operating
        case .worker: Self.working
        case .admin: Self.everything
        }
    }

    // Built once: `allows` is asked for every request.
    private static let responding = viewing.union([.startWorkflow, .signalWorkflow, .signalWithStartWorkflow])
    private static let operating = responding.union([.requestCancelWorkflow, .terminateWorkflow])
    private static let working = Set(OperationName.allCases.filter(\.isWorkerOperation)).union([
        .ping, .getWorkflowHistory,
    ])
    private static let everything = Set(OperationName.allCases)
    private static let viewing: Set<OperationName> = [
        .ping, .describeWorkflow, .getWorkflowHistory, .listWorkflows, .queryWorkflow, .awaitWorkflowResult,
    ]

    public func allows(_ operation: OperationName) -> Bool {
        operation == .hello || allowed.contains(operation)
    }

    /// The PERMISSION_DENIED answer for `operation`.
    public func denial(of operation: OperationName) -> OrchestratorError {
        let may = allowed.filter { $0 != .ping }.map(\.rawValue).sorted().joined(separator: ", ")
        return OrchestratorError(
            .permissionDenied,
            "role \(rawValue) may not \(operation.rawValue); it may \(may). Use a token with a role that may.",
            details: ["role": .string(rawValue), "operation": .string(operation.rawValue)])
    }
}

/// The tokens a server accepts on TCP, each with its role.
///
/// The token file has one token per line, optionally preceded by its role: `operator 6f1c…`.
/// A line with a token alone is an admin token. Blank lines and lines starting with `#` are ignored.
public struct TokenTable: Sendable, Hashable {
    public var roles: [String: Role]

    public init(roles: [String: Role]) { self.roles = roles }

    /// Parses a token file's contents.
    public init(parsing text: String) throws {
        var roles: [String: Role] = [:]
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        {
            // A '#' at the start of a line or after whitespace starts a comment; CRLF endings are fine.
            var line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if let comment = line.range(of: " #") ?? line.range(of: "\t#") {
                line = String(line[..<comment.lowerBound])
            }
            line = line.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(whereSeparator: \.isWhitespace).map(String.init)
            if let token = parts.last, roles[token] != nil {
                throw ServerStartupError("token file line \(number + 1): this token is listed twice")
            }
            switch parts.count {
            case 1:
                roles[parts[0]] = .admin
            case 2:
                guard let role = Role(rawValue: parts[0]) else {
                    throw ServerStartupError(
                        "token file line \(number + 1): unknown role '\(parts[0])'; roles are \(Role.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                roles[parts[1]] = role
            default:
                throw ServerStartupError("token file line \(number + 1): write 'TOKEN' or 'ROLE TOKEN'")
            }
        }
        guard !roles.isEmpty else { throw ServerStartupError("the token file holds no token") }
        for token in roles.keys where token.utf8.count < 16 {
            throw ServerStartupError(
                "a token of \(token.utf8.count) bytes is too short to be secret; use at least 16 (e.g. openssl rand -hex 24)"
            )
        }
        self.roles = roles
    }

    /// The role of `presented`, compared in constant time against every token.
    public func role(for presented: String) -> Role? {
        var found: Role?
        for (token, role) in roles where constantTimeEquals(presented, token) {
            found = role
        }
        return found
    }
}
