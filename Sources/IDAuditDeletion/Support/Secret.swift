import Foundation

/// A token: read from an environment variable or a file, never from argv; prints as `<redacted>`.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The token itself: only adapters read it, to build headers.
    public let value: String

    /// Wraps a value (tests, the emulator).
    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }

    /// The secret from `file` when given (its first line, trimmed), else from the environment variable `variable`.
    ///
    /// - Parameters:
    ///   - what: what the secret is, for messages (`token`, `partner name`).
    ///   - fileOption: the option that names the file, for messages.
    public static func load(
        variable: String, file: String?, what: String = "token", fileOption: String = "--token-file"
    ) throws(SecretError) -> Secret {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw SecretError(message: "\(fileOption) \(file): cannot read the file")
            }
            let text = String(decoding: data, as: UTF8.self)
            let first = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            let secret = first.trimmingCharacters(in: .whitespaces)
            guard !secret.isEmpty else { throw SecretError(message: "\(fileOption) \(file): the file is empty") }
            return Secret(secret)
        }
        guard let value = ProcessInfo.processInfo.environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines),
            !value.isEmpty
        else {
            throw SecretError(
                message: "no \(what): set \(variable) in the environment, or pass \(fileOption) FILE "
                    + "(secrets are never taken from the command line)")
        }
        return Secret(value)
    }
}

/// A token that could not be loaded.
public struct SecretError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    public var description: String { message }
}
