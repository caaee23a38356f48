import Foundation
import IDAuditCore

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
            try check(secret, source: "\(fileOption) \(file)", what: what)
            return Secret(secret)
        }
        guard let value = ProcessInfo.processInfo.environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines),
            !value.isEmpty
        else {
            throw SecretError(
                message: "no \(what): set \(variable) in the environment, or pass \(fileOption) FILE "
                    + "(secrets are never taken from the command line)")
        }
        try check(value, source: variable, what: what)
        return Secret(value)
    }

    /// Refuses a secret that could leak or break a request, naming where it came from, never the value: a character
    /// outside printable ASCII (a header cannot hold it; the HTTP client's error would print it), or a token too short
    /// to be a platform's (and to be masked in an answer that echoes it).
    static func check(_ value: String, source: String, what: String) throws(SecretError) {
        guard value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
            throw SecretError(
                message: "the \(what) in \(source) holds a control character or a character outside printable ASCII: "
                    + "refused before anything is sent (a request header cannot carry it)")
        }
        if what == "token", value.count < 8 {
            throw SecretError(message: "the token in \(source) has fewer than 8 characters: not a platform's token")
        }
    }
}

/// A token that could not be loaded.
public struct SecretError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    public var description: String { message }
}

/// Masks a run's secrets wherever an answer may echo them: as they are, in any case, percent-encoded (as needed or
/// every byte), JSON-escaped (as needed, or every character as `\uXXXX`), as hex or HTML character references, and in
/// base64 (standard or URL-safe, padded or not, `/` escaped or not), of the value, of HTTP Basic's `value:`, or of any
/// text holding it (the part every such base64 shares, whatever the value's alignment). Values shorter than 4 characters are
/// left alone (masking them would garble every message).
public struct Redactor: Sendable {
    private let variants: [String]

    /// A redactor for `secrets` (tokens, partner names).
    public init(secrets: [String]) {
        var all = Set<String>()
        func base64Forms(_ bytes: [UInt8]) -> [String] {
            let standard = Data(bytes).base64EncodedString()
            let trimmed = standard.trimmingCharacters(in: CharacterSet(charactersIn: "="))
            let forms = [standard, trimmed, trimmed.replacing("+", with: "-").replacing("/", with: "_")]
            // JSON writers that escape `/` (PHP's json_encode by default).
            return forms + forms.map { $0.replacing("/", with: "\\/") }
        }
        for secret in secrets where secret.count >= 4 {
            let bytes = Array(secret.utf8)
            // Base64 of the value and of Basic's `value:`; and, for each of the three alignments the value can have
            // inside a longer text (a dump of the headers), the base64 of its whole 3-byte groups there: what every
            // base64 of a text holding the value shares, so a cut or embedded echo is masked too.
            var encoded = base64Forms(bytes) + base64Forms(bytes + [UInt8(ascii: ":")])
            for skip in 0..<3 {
                let aligned = bytes.dropFirst(skip)
                // Two groups at least (8 characters): a shorter run of base64 would mask chance text.
                guard aligned.count >= 6 else { continue }
                encoded += base64Forms(Array(aligned.prefix(aligned.count / 3 * 3)))
            }
            // Hex, and every byte percent-encoded or as an HTML character reference.
            let hex = bytes.map { String(format: "%02x", $0) }
            encoded += [
                hex.joined(), hex.map { "%" + $0 }.joined(), hex.map { "&#x" + $0 + ";" }.joined(),
                bytes.map { "&#\($0);" }.joined(),
            ]
            // Every character as a JSON \u escape (a proxy's JSON may escape them all).
            let unicodeEscaped = secret.utf16.map { "\\u" + String(repeating: "0", count: 4 - String($0, radix: 16).count) + String($0, radix: 16) }.joined()
            let forms =
                [
                    secret, URLText.encodeSegment(secret), secret.replacing("/", with: "\\/"),
                    String(JSONText.quote(secret).dropFirst().dropLast()), unicodeEscaped,
                ] + encoded
            for form in forms where form.count >= 4 { all.insert(form) }
        }
        // Longest first, so a form holding another is masked whole.
        variants = all.sorted { $0.count > $1.count }
    }

    /// `text` with every secret masked as `<redacted>`.
    public func redact(_ text: String) -> String {
        var out = text
        // Every answer passes here: a plain search first, a pattern only for a value that is there.
        let lower = text.lowercased()
        for variant in variants where lower.contains(variant.lowercased()) {
            guard let pattern = try? Regex(NSRegularExpression.escapedPattern(for: variant)).ignoresCase() else { continue }
            out = out.replacing(pattern, with: "<redacted>")
        }
        return out
    }

    /// An answer with every secret masked in its body and headers (before anything reads or cuts it).
    func redact(_ response: WireResponse) -> WireResponse {
        guard !variants.isEmpty else { return response }
        var out = response
        let text = String(decoding: response.body, as: UTF8.self)
        let masked = redact(text)
        if masked != text { out.body = Array(masked.utf8) }
        out.headers = response.headers.map { ($0.name, redact($0.value)) }
        return out
    }
}
