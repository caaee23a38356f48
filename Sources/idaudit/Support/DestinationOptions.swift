import ArgumentParser
import Foundation
import IDAuditCore
import IDAuditDeletion

/// Where deletions go: the options `approve`, `apply` and `erase` share, so an approval names exactly the
/// destination an apply is then checked against.
struct DestinationOptions: ParsableArguments {
    enum Target: String, ExpressibleByArgument, CaseIterable {
        case segment, insider
    }

    @Option(help: "Where to delete: segment or insider.")
    var target: Target

    @Option(help: "Segment: the space id (spa_...).")
    var space: String?

    @Option(help: "Segment: the region whose host to use (us: profiles.segment.com, eu: profiles.euw1.segment.com).")
    var region: SegmentTarget.Region = .us

    @Option(help: "Insider One: read the partner name from this file (default: the IDAUDIT_INSIDER_PARTNER variable).")
    var partnerFile: String?

    @Option(help: "Insider One: a type map file (type: key per line).")
    var typeMap: String?

    @Option(help: "Send to this base URL instead (the emulator: http://127.0.0.1:8080).")
    var endpoint: String?

    @Flag(help: "Allow a plain http:// --endpoint that is not on this machine (the token travels in clear).")
    var insecureHttp = false

    /// Refused with a pointer: the partner name is a secret, never argv.
    @Option(name: .customLong("partner"), help: .hidden)
    var partnerOnArgv: String?

    func validate() throws {
        if target == .segment && space == nil { throw ValidationError("--target segment needs --space (spa_...)") }
        if target == .insider && space != nil { throw ValidationError("--space is for --target segment") }
        if let space, space.isEmpty || !space.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic
            || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") })
        {
            throw ValidationError("--space \(space): a space id is letters, digits, _ and - (spa_...)")
        }
        // Approving an endpoint apply would refuse would only mislead. A bad --endpoint is a bad option (exit 64).
        do {
            try checkEndpoint()
        } catch {
            throw ValidationError("\(error)")
        }
        if partnerOnArgv != nil {
            throw ValidationError(
                "--partner is not taken on the command line (it would show in ps and shell history): set "
                    + "IDAUDIT_INSIDER_PARTNER or pass --partner-file FILE")
        }
    }

    /// Checks where requests would go: a token never travels in clear to another machine. Call it before sending.
    func checkEndpoint() throws {
        if let endpoint { try EndpointPolicy.check(endpoint, allowInsecure: insecureHttp) }
    }

    /// The base URL requests go to.
    var baseURL: String {
        endpoint ?? (target == .segment ? region.baseURL : InsiderTarget.defaultBaseURL)
    }

    /// The Insider One partner name: a secret, from the environment or a file, never argv.
    func partner() throws -> String {
        try Secret.load(
            variable: "IDAUDIT_INSIDER_PARTNER", file: partnerFile, what: "partner name", fileOption: "--partner-file"
        ).value
    }

    /// The Insider One type map (the default when no file is given).
    func loadTypeMap() throws -> InsiderTypeMap {
        guard let typeMap else { return InsiderTypeMap() }
        guard let data = FileManager.default.contents(atPath: typeMap) else {
            throw ValidationError("--type-map \(typeMap): cannot read the file")
        }
        return try InsiderTypeMap.parse(String(decoding: data, as: UTF8.self), file: typeMap)
    }

    /// The destination of identifier deletions (`apply`), as approvals and the journal name it.
    func identifierDestination() throws -> ApprovedDestination {
        switch target {
        case .segment: return SegmentTarget.destination(space: space!, baseURL: baseURL)
        case .insider:
            return InsiderTarget.destination(partner: try partner(), baseURL: baseURL, typeMap: try loadTypeMap())
        }
    }

    /// The destination of attribute deletions (`erase`).
    func attributeDestination() throws -> ApprovedDestination {
        guard target == .insider else { throw ValidationError("erase deletes attributes at Insider One: --target insider") }
        return InsiderAttributeTarget.destination(partner: try partner(), baseURL: baseURL)
    }
}

extension SegmentTarget.Region: ExpressibleByArgument {}
