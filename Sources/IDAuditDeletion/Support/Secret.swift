import Foundation

#if canImport(Glibc)
    import Glibc
#endif
import IDAuditCore

/// A token: read from an environment variable or a file, never from argv; prints as `<redacted>`.
package struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The token itself: only adapters read it, to build headers.
    package let value: String

    /// Wraps a value (tests, the emulator).
    package init(_ value: String) { self.value = value }

    package var description: String { "<redacted>" }
    package var debugDescription: String { "<redacted>" }

    /// The secret from `file` when given (its first line, trimmed), else from the environment variable `variable`.
    ///
    /// - Parameters:
    ///   - what: what the secret is, for messages (`token`, `partner name`).
    ///   - fileOption: the option that names the file, for messages.
    package static func load(
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
package struct SecretError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    package var message: String
    package var description: String { message }
}

/// Masks a run's secrets wherever an answer may echo them: as they are, in any case, percent-encoded (as needed or
/// every byte), JSON-escaped (as needed, or every character as `\uXXXX`), as hex or HTML character references, and in
/// base64 (standard or URL-safe, padded or not, `/` escaped or not), of the value, of HTTP Basic's `value:`, or of any
/// text holding either (the part every such base64 shares, whatever the alignment): so a dump of the request, encoded
/// once more, is masked too. A text that holds a secret only once whitespace, line breaks (a 76-column base64 dump, an
/// `xxd` hex dump) or invisible characters are taken out is replaced whole: where the secret sits cannot be marked.
/// Values shorter than 4 characters are left alone (masking them would garble every message).
package struct Redactor: Sendable {
    /// Every form, longest first (a form holding another is masked whole), and the same in lower case.
    private let variants: [(form: String, lower: String)]
    /// The lower-case forms' bytes.
    private let variantBytes: [[UInt8]]
    /// The forms in lower case without whitespace, for the squeezed check.
    private let squeezedVariants: [[UInt8]]
    /// The forms in lower case, for the interleaved check of kept texts (6 characters or more).
    private let interleavedVariants: [[UInt8]]
    /// The forms a request carries a secret in (as it is; Basic's base64), in lower case: the interleaved check of
    /// whole answers (a few forms, so a megabyte page costs milliseconds).
    private let carriedVariants: [[UInt8]]
    /// Every slice two thirds as long of a secret and of Basic's form of it (``windows(_:)``), in lower case: masked
    /// together wherever any of them matches.
    private let windowForms: [[UInt8]]
    /// Every form and slice, squeezed: what a dump's or a list of numbers' bytes are read for.
    private let readableForms: [[UInt8]]

    /// A redactor for `secrets` (tokens, partner names).
    package init(secrets: [String]) {
        var all = Set<String>()
        var carriedForms = Set<[UInt8]>()
        var windowSet = Set<[UInt8]>()
        func base64Forms(_ bytes: [UInt8]) -> [String] {
            let standard = Data(bytes).base64EncodedString()
            let trimmed = standard.trimmingCharacters(in: CharacterSet(charactersIn: "="))
            let forms = [standard, trimmed, trimmed.replacing("+", with: "-").replacing("/", with: "_")]
            // JSON writers that escape `/` (PHP's json_encode by default).
            return forms + forms.map { $0.replacing("/", with: "\\/") }
        }
        /// Base64 of `bytes`, and of its whole 3-byte groups at each of the three alignments it can have inside a
        /// longer text: what every base64 of a text holding it shares.
        func embeddedBase64(_ bytes: [UInt8]) -> [String] {
            var out = base64Forms(bytes)
            for skip in 0..<3 {
                let aligned = bytes.dropFirst(skip)
                // Two groups at least (8 characters): a shorter run of base64 would mask chance text.
                guard aligned.count >= 6 else { continue }
                out += base64Forms(Array(aligned.prefix(aligned.count / 3 * 3)))
            }
            return out
        }
        /// Hex, and every byte percent-encoded or as an HTML character reference.
        func byteForms(_ bytes: [UInt8]) -> [String] {
            let hex = bytes.map { String(format: "%02x", $0) }
            return [
                hex.joined(), hex.map { "%" + $0 }.joined(), hex.map { "&#x" + $0 + ";" }.joined(),
                bytes.map { "&#\($0);" }.joined(),
            ]
        }
        for secret in secrets where secret.count >= 4 {
            let bytes = Array(secret.utf8)
            // The forms a request carries the secret in: as it is, and Basic's base64 of `value:`.
            let carried = [bytes] + base64Forms(bytes + [UInt8(ascii: ":")]).prefix(2).map { Array($0.utf8) }
            for form in carried where form.count >= 6 {
                let text = String(decoding: form, as: UTF8.self)
                carriedForms.insert(Self.lowerBytes(text))
                // And two thirds of it or more, wherever it was cut.
                for window in Self.windows(text) {
                    carriedForms.insert(Self.lowerBytes(window))
                    windowSet.insert(Self.lowerBytes(window))
                }
            }
            var encoded: [String] = base64Forms(bytes + [UInt8(ascii: ":")])
            // Each encoded once more, as a dump of the request would be.
            for form in carried { encoded += embeddedBase64(form) + byteForms(form) }
            // The same as UTF-16 (a Windows or IIS gateway's page), little- and big-endian, in base64 and hex.
            for form in carried {
                let little: [UInt8] = form.flatMap { [$0, 0] }
                let big: [UInt8] = form.flatMap { [0, $0] }
                for utf16 in [little, big] {
                    encoded += embeddedBase64(utf16) + [utf16.map { String(format: "%02x", $0) }.joined()]
                }
            }
            // Every character as a JSON \u escape (a proxy's JSON may escape them all).
            let unicodeEscaped = secret.utf16.map { "\\u" + String(repeating: "0", count: 4 - String($0, radix: 16).count) + String($0, radix: 16) }.joined()
            let forms =
                [
                    secret, URLText.encodeSegment(secret), secret.replacing("/", with: "\\/"),
                    String(JSONText.quote(secret).dropFirst().dropLast()), unicodeEscaped,
                ] + Self.escapedAsTheWebDoes(secret) + encoded
            for form in forms where form.count >= 4 { all.insert(form) }
        }
        let sorted = all.sorted { $0.count > $1.count }
        variants = sorted.map { ($0, $0.lowercased()) }
        variantBytes = sorted.map { Self.lowerBytes($0) }
        let spreadOut = sorted.map { Self.lowerBytes($0) } + Array(windowSet)
        // Spread-out forms are looked for only where they cannot be prose: 8 characters or more (the shortest token
        // accepted), not only letters (a
        // partner name such as `mybrand` would match "my brand new ...").
        squeezedVariants = Array(
            Set(
                spreadOut.map { Self.squeezed($0) }.filter { form in
                    form.count >= 8 && !form.allSatisfy { ($0 >= 97 && $0 <= 122) || $0 >= 0x80 }
                }))
        // A constant filler between every character cannot be prose: letters-only forms (a partner name) count too.
        interleavedVariants = Array(Set(variantBytes.filter { $0.count >= 6 }).union(windowSet))
        carriedVariants = Array(carriedForms)
        windowForms = Array(windowSet)
        readableForms = Array(Set((variantBytes + windowForms).filter { $0.count >= 4 }.map { Self.squeezed($0) }))
    }

    /// Every slice of `text` two thirds as long (at least 12 characters), when it has 16 or more: a secret cut short,
    /// missing its first characters, or both (a gateway that splits a value and cuts it) holds one of them.
    static func windows(_ text: String) -> [String] {
        let characters = Array(text)
        guard characters.count >= 16 else { return [] }
        let length = max(12, (characters.count * 2 + 2) / 3)
        return (0...(characters.count - length)).map { String(characters[$0..<($0 + length)]) }
    }

    /// The longest filler the interleaved check looks for: NUL's spelling in four nested JSON envelopes (`\\\\u0000`
    /// doubled three times over) and more.
    static let longestFiller = 24

    /// Whether `text` (ASCII lower case) holds `form` with one same filler of 1 to 24 bytes between each of its
    /// characters: a UTF-16 page's NUL in any spelling (`\u0000`, `\\u0000`, `%2500`, `#00`, `^@`, U+FFFD, `&#xfffd;`,
    /// `\u{0}`, U+2400, `.`), spaces, dashes.
    static func interleaved(_ text: [UInt8], _ form: [UInt8]) -> Bool {
        let n = form.count
        guard n >= 2, text.count >= 2 * n - 1 else { return false }
        for i in 0..<text.count where text[i] == form[0] {
            var j = i + 2
            while j <= min(text.count - 1, i + 1 + longestFiller) {
                defer { j += 1 }
                guard text[j] == form[1] else { continue }
                let filler = j - i - 1
                let stride = filler + 1
                guard i + (n - 1) * stride < text.count else { break }
                var k = 2
                while k < n {
                    let at = i + k * stride
                    guard text[at] == form[k], text[(at - filler)..<at].elementsEqual(text[(i + 1)..<j]) else { break }
                    k += 1
                }
                if k == n { return true }
            }
        }
        return false
    }

    /// Whether a kept text holds a secret interleaved with a filler (``interleaved(_:_:)``).
    private func interleavesASecret(_ text: String) -> Bool {
        let lower = Self.lowerBytes(text)
        return interleavedVariants.contains { Self.interleaved(lower, $0) }
    }

    /// `secret` as web stacks escape text for a page or a URL, touching only what they must: HTML's `& < > " '`
    /// (Python's `html.escape`, `&#39;` or `&#x27;`, quotes left alone), and percent-encoding that keeps what
    /// `encodeURIComponent`, `encodeURI`, `quote` or `quote_plus` keep.
    static func escapedAsTheWebDoes(_ secret: String) -> [String] {
        var out: [String] = []
        for quote in ["&#x27;", "&#39;", "'"] {
            for double in ["&quot;", "\""] {
                var text = ""
                for c in secret {
                    switch c {
                    case "&": text += "&amp;"
                    case "<": text += "&lt;"
                    case ">": text += "&gt;"
                    case "\"": text += double
                    case "'": text += quote
                    default: text.append(c)
                    }
                }
                out.append(text)
            }
        }
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".unicodeScalars)
        let keeps: [Set<Unicode.Scalar>] = [
            unreserved, unreserved.union("/".unicodeScalars), unreserved.union("!*'()".unicodeScalars),
            unreserved.union("!*'();,/?:@&=+$#".unicodeScalars),
        ]
        for keep in keeps {
            for space in ["%20", "+"] {
                var text = ""
                for byte in secret.utf8 {
                    let scalar = Unicode.Scalar(byte)
                    if byte < 0x80 && keep.contains(scalar) {
                        text.unicodeScalars.append(scalar)
                    } else if byte == 0x20 {
                        text += space
                    } else {
                        text += String(format: "%%%02X", byte)
                    }
                }
                out.append(text)
            }
        }
        return out
    }

    /// `bytes` (ASCII lower case already) without whitespace, control characters (NUL included), line breaks (as
    /// they are or JSON-escaped `\\n`, `\\r`, `\\t`) and every character Unicode calls default-ignorable (zero-width spaces and joiners, invisible separators,
    /// direction marks, variation selectors, the byte order mark, soft hyphens, ...).
    static func squeezed(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b < 0x80 {
                // Spaces and every control character: NUL between the characters is how a UTF-16 page (an IIS or
                // Windows gateway's error page) shows ASCII to a UTF-8 reader.
                if b < 0x20 || b == 32 || b == 0x7F {
                    i += 1
                } else if let length = Self.escapedNUL(bytes, at: i) {
                    // A NUL written as an escape (`\u0000`, `\x00`, `\0`, `%00`, `&#0;`): a UTF-16 page quoted by
                    // a JSON envelope, a Python repr or a URL.
                    i += length
                } else if b == 0x5C, i + 1 < bytes.count, [0x6E, 0x72, 0x74].contains(bytes[i + 1]) {  // \n \r \t
                    i += 2
                } else {
                    out.append(b)
                    i += 1
                }
                continue
            }
            // A multi-byte character: decoded to decide, kept as its bytes.
            let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            let end = min(bytes.count, i + length)
            let scalar = String(decoding: bytes[i..<end], as: UTF8.self).unicodeScalars.first
            if let scalar,
                scalar.properties.isWhitespace || scalar.properties.isDefaultIgnorableCodePoint
                    || scalar.properties.generalCategory == .control
            {
                i = end
                continue
            }
            out.append(contentsOf: bytes[i..<end])
            i = end
        }
        return out
    }

    /// The length of the escaped NUL at `i` in `bytes`, or nil.
    static func escapedNUL(_ bytes: [UInt8], at i: Int) -> Int? {
        for form in escapedNULs where i + form.count <= bytes.count && bytes[i] == form[0] {
            if bytes[i..<(i + form.count)].elementsEqual(form) {
                // `\0` alone, not the start of an octal escape of another byte (`\012`).
                if form.count == 2, i + 2 < bytes.count, (0x30...0x37).contains(bytes[i + 2]) { continue }
                return form.count
            }
        }
        return nil
    }

    /// NUL's escapes, longest first (ASCII lower case, as `squeezed` sees them).
    static let escapedNULs: [[UInt8]] = ["\\u0000", "&#x00;", "\\x00", "\\000", "&#x0;", "&#00;", "&#0;", "%00", "\\0"]
        .map { Array($0.utf8) }

    /// `text` in ASCII lower case, as bytes (the forms are ASCII: other bytes never match them).
    static func lowerBytes(_ text: String) -> [UInt8] {
        text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
    }

    /// `text` with the union of every match of ``windowForms`` replaced by `<redacted>`.
    private func maskingWindows(_ text: String) -> String {
        guard !windowForms.isEmpty else { return text }
        let lower = Self.lowerBytes(text)
        var ranges: [Range<Int>] = []
        for form in windowForms {
            var start = 0
            while let at = Self.index(of: form, in: lower, from: start) {
                ranges.append(at..<(at + form.count))
                start = at + 1
            }
        }
        guard !ranges.isEmpty else { return text }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for range in ranges {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var next = 0
        for range in merged {
            out += bytes[next..<range.lowerBound]
            out += Array("<redacted>".utf8)
            next = range.upperBound
        }
        out += bytes[next...]
        return String(decoding: out, as: UTF8.self)
    }

    /// Where `needle` first is in `haystack` at or after `start`.
    static func index(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, start >= 0, haystack.count - start >= needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                guard let hb = h.baseAddress, let nb = n.baseAddress else { return nil }
                var from = start
                let last = h.count - n.count
                while from <= last {
                    guard let found = memchr(hb + from, Int32(nb[0]), last - from + 1) else { return nil }
                    let at = hb.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    if memcmp(hb + at, nb, n.count) == 0 { return at }
                    from = at + 1
                }
                return nil
            }
        }
    }

    /// Whether `needle` is in `haystack` (memchr to each candidate first byte, then memcmp: a few passes over the
    /// text at memory speed).
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool { index(of: needle, in: haystack, from: 0) != nil }

    /// The bytes a dump in `text` may show, one reading per dump format: on each line that starts with an offset,
    /// the columns after it read as hex bytes (`xxd`, `hexdump -C`, `od -A x -t x1`), as little-endian 16-bit hex words
    /// (`hexdump`, `od -x`), or as octal bytes (`od -b`); empty readings when there is no dump. A dump's side column of
    /// text splits a secret across lines, so the bytes are what can be checked.
    static func dumpReadings(_ text: String) -> [[UInt8]] {
        var hex: [UInt8] = []
        var words: [UInt8] = []
        var octal: [UInt8] = []
        let lines = Self.lines(text)
        for line in lines {
            var tokens = line.split(separator: " ", omittingEmptySubsequences: true)[...]
            guard let offset = tokens.first,
                (4...16).contains(offset.count - (offset.hasSuffix(":") ? 1 : 0)),
                offset.dropLast(offset.hasSuffix(":") ? 1 : 0).allSatisfy(\.isHexDigit)
            else { continue }
            tokens = tokens.dropFirst()
            var readingHex = true
            for token in tokens {
                let isOctal = token.count == 3 && token.allSatisfy { ("0"..."7").contains($0) }
                if isOctal, let byte = UInt8(token, radix: 8) { octal.append(byte) }
                readingHex = readingHex && token.count % 2 == 0 && token.count <= 8 && token.allSatisfy(\.isHexDigit)
                if !readingHex && !isOctal { break }  // the side column of text
                guard readingHex else { continue }
                let pairs = hexPairs(token)
                hex += pairs
                words += pairs.count == 2 ? [pairs[1], pairs[0]] : pairs
            }
        }
        return [hex, words, octal].filter { !$0.isEmpty }
    }

    /// `text`'s lines, split on LF, CR (a CRLF is one Character in Swift, which a split by Character never cuts) and
    /// JSON's escaped `\\n`.
    static func lines(_ text: String) -> [String] {
        text.replacingOccurrences(of: "\\n", with: "\n").unicodeScalars
            .split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { String($0) }
    }

    /// The bytes runs of byte-sized numbers in `text` stand for, whatever separates them (`74-6f`, `74:6f`, `\\x74`,
    /// `0x74, 0x6f`, `\\164\\157`, `116.111`, `[116, 111]`, `01110100 01101111`): one reading per notation (hex pairs,
    /// octal triples, decimals up to 255, 8-bit binary), each a run of 8 numbers or more.
    static func numberReadings(_ text: String) -> [[UInt8]] {
        var readings: [[UInt8]] = []
        let tokens = text.lowercased().replacingOccurrences(of: "0x", with: " ").replacingOccurrences(of: "\\x", with: " ")
            .split(whereSeparator: { !($0.isASCII && ($0.isLetter || $0.isNumber)) })
        let notations: [(Substring) -> UInt8?] = [
            { $0.count == 2 && $0.allSatisfy(\.isHexDigit) ? UInt8($0, radix: 16) : nil },
            { $0.count == 3 && $0.allSatisfy { ("0"..."7").contains($0) } ? UInt8($0, radix: 8) : nil },
            { $0.count <= 3 && $0.allSatisfy(\.isNumber) ? UInt8($0, radix: 10) : nil },
            { $0.count == 8 && $0.allSatisfy { $0 == "0" || $0 == "1" } ? UInt8($0, radix: 2) : nil },
        ]
        for read in notations {
            var run: [UInt8] = []
            for token in tokens {
                if let byte = read(token) {
                    run.append(byte)
                } else {
                    if run.count >= 8 { readings.append(run) }
                    run = []
                }
            }
            if run.count >= 8 { readings.append(run) }
        }
        return readings
    }

    /// `\u`, which starts a JSON escape of a character.
    static let unicodeEscapeStart: [UInt8] = Array("\\u".utf8)

    /// `text` with its JSON escapes of characters decoded once: `\uXXXX` (a surrogate pair as one character) and
    /// `\"`, `\\`, `\/`; anything else left as it is. A lone surrogate reads as U+FFFD.
    static func jsonUnescaped(_ text: String) -> String {
        let units = Array(text.utf16)
        var out: [UInt16] = []
        out.reserveCapacity(units.count)
        func hex(at i: Int) -> UInt16? {
            guard i + 4 <= units.count else { return nil }
            var value: UInt16 = 0
            for unit in units[i..<(i + 4)] {
                guard unit < 0x80, let digit = Int(String(UnicodeScalar(UInt8(unit))), radix: 16) else { return nil }
                value = value << 4 | UInt16(digit)
            }
            return value
        }
        var i = 0
        while i < units.count {
            guard units[i] == 0x5C, i + 1 < units.count else {
                out.append(units[i])
                i += 1
                continue
            }
            let next = units[i + 1]
            if next == 0x75, let value = hex(at: i + 2) {  // \uXXXX
                out.append(value)
                i += 6
            } else if next == 0x22 || next == 0x5C || next == 0x2F {  // \" \\ \/
                out.append(next)
                i += 2
            } else {
                out.append(units[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF16.self)
    }

    /// What replaces a text whose secret cannot be marked.
    static let withheld = "<withheld: the answer holds a secret, spread over lines or spaces>"

    /// `text` with every secret masked as `<redacted>`; withheld whole when a secret is there in a way that cannot be
    /// marked (spread by whitespace or invisible characters, inside a hex dump).
    package func redact(_ text: String) -> String {
        guard !variants.isEmpty else { return text }
        var out = text
        // Every answer passes here: a byte search first (a large error page costs milliseconds), a pattern only for
        // a form that is there.
        var lower = Self.lowerBytes(text)
        for (variant, bytes) in zip(variants, variantBytes) where Self.contains(lower, bytes) {
            guard let pattern = try? Regex(NSRegularExpression.escapedPattern(for: variant.form)).ignoresCase() else {
                continue
            }
            out = out.replacing(pattern, with: "<redacted>")
            lower = Self.lowerBytes(out)
        }
        // A secret cut anywhere: every place any slice two thirds as long matches, merged, is masked (one slice at a
        // time left the rest of a slightly cut token in view).
        out = maskingWindows(out)
        lower = Self.lowerBytes(out)
        let squeezed = Self.squeezed(lower)
        if squeezedVariants.contains(where: { Self.contains(squeezed, $0) }) { return Self.withheld }
        // JSON writers escape some characters only (.NET's `+ & < > ' "`, Go's and Rails' `& < >`, Python's every
        // non-ASCII one), in no list of forms: the text is read with its JSON escapes decoded, nested ones too.
        if Self.contains(lower, Self.unicodeEscapeStart) {
            var decoded = out
            for _ in 0..<4 {
                let next = Self.jsonUnescaped(decoded)
                if next == decoded { break }
                decoded = next
                let bytes = Self.lowerBytes(decoded)
                if variantBytes.contains(where: { Self.contains(bytes, $0) })
                    || windowForms.contains(where: { Self.contains(bytes, $0) })
                    || squeezedVariants.contains(where: { Self.contains(Self.squeezed(bytes), $0) })
                {
                    return Self.withheld
                }
            }
        }
        for reading in Self.dumpReadings(out) {
            let decoded = Self.squeezed(Self.lowerBytes(String(decoding: reading, as: UTF8.self)))
            if readableForms.contains(where: { Self.contains(decoded, $0) }) {
                return Self.withheld
            }
        }
        return out
    }

    /// What is kept of an answer (a message, a request id, a skip reason: the journal, the report, the terminal),
    /// masked as ``redact(_:)`` does; and, since no list of dump formats is ever complete (`od -c`, `xxd -i`,
    /// base32 ... each held the token in a form the masking could not find), withheld when it looks like a dump or
    /// encoded data rather than a sentence: 3 lines or more, a run of 32 characters or more of a base64, base32 or
    /// hex alphabet, or a line of 16 tokens or more that are nearly all 4 characters or fewer (a byte listing).
    package func redactKept(_ text: String) -> String {
        let out = redact(text)
        guard !variants.isEmpty, out != Self.withheld else { return out }
        // Byte-sized numbers with any separator, and a secret with a filler between its characters (a kept text is
        // short: this costs little here, unlike on a body).
        if spellsASecretInNumbers(out) || interleavesASecret(out) { return Self.withheld }
        return Self.looksEncoded(out) ? Self.withheldEncoded : out
    }

    /// A request id: masked as ``redact(_:)`` does, and withheld when it spells a secret as byte-sized numbers (a
    /// request id is an opaque token by nature, so it is never judged by its looks: a 32-hex trace id stays).
    package func redactID(_ text: String) -> String {
        let out = redact(text)
        guard !variants.isEmpty, out != Self.withheld else { return out }
        if spellsASecretInNumbers(out) || interleavesASecret(out) { return Self.withheld }
        // An unbroken run of hex or base64 is read as the bytes it encodes (a token cut short, then encoded, is no
        // form of the whole token): a random trace id decodes to bytes that hold no secret.
        for decoded in Self.encodedRuns(out) where readableForms.contains(where: { Self.contains(decoded, $0) }) {
            return Self.withheld
        }
        return out
    }

    /// The bytes an even run of hex digits spells, two digits each.
    static func hexPairs(_ digits: Substring) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            bytes.append(UInt8(digits[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }

    /// The bytes each run of 16 characters or more of a hex or base64 alphabet in `text` encodes, in lower case and
    /// squeezed (so UTF-16 reads as its characters).
    static func encodedRuns(_ text: String) -> [[UInt8]] {
        let runs = text.split { !($0.isASCII && ($0.isLetter || $0.isNumber || "+/=_-".contains($0))) }
        var out: [[UInt8]] = []
        for run in runs where run.count >= 16 {
            let plain = String(run)
            if plain.count % 2 == 0, plain.allSatisfy(\.isHexDigit) {
                out.append(squeezed(lowerBytes(String(decoding: hexPairs(plain[...]), as: UTF8.self))))
            }
            var base64 = plain.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                .trimmingCharacters(in: CharacterSet(charactersIn: "="))
            base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
            if let data = Data(base64Encoded: base64) {
                out.append(squeezed(lowerBytes(String(decoding: data, as: UTF8.self))))
            }
            for alphabet in base32Alphabets {
                if let bytes = base32Decoded(plain, alphabet: alphabet) {
                    out.append(squeezed(lowerBytes(String(decoding: bytes, as: UTF8.self))))
                }
            }
        }
        return out
    }

    /// Base32's alphabets (RFC 4648): the standard one and "extended hex".
    static let base32Alphabets: [[UInt8]] = [
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8), Array("0123456789ABCDEFGHIJKLMNOPQRSTUV".utf8),
    ]

    /// The bytes `text` encodes in base32 with `alphabet` (any case, padding optional), or nil when it is not that.
    static func base32Decoded(_ text: String, alphabet: [UInt8]) -> [UInt8]? {
        var bits = 0
        var value = 0
        var out: [UInt8] = []
        for byte in text.utf8.reversed().drop(while: { $0 == UInt8(ascii: "=") }).reversed() {
            let upper = byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte
            guard let digit = alphabet.firstIndex(of: upper) else { return nil }
            value = (value << 5 | digit) & 0xFFFF
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((value >> bits) & 0xFF))
            }
        }
        return out
    }

    /// Whether `text` spells a secret as byte-sized numbers (``numberReadings(_:)``).
    private func spellsASecretInNumbers(_ text: String) -> Bool {
        Self.numberReadings(text).contains { reading in
            let decoded = Self.squeezed(Self.lowerBytes(String(decoding: reading, as: UTF8.self)))
            return readableForms.contains { Self.contains(decoded, $0) }
        }
    }

    /// What replaces a kept text that looks like a dump or encoded data.
    static let withheldEncoded = "<withheld: the answer looks like a dump or encoded data, which could hold a secret>"

    /// Whether `text` looks like a dump or encoded data rather than a sentence (see ``redactKept(_:)``).
    static func looksEncoded(_ text: String) -> Bool {
        let lines = Self.lines(text)
            .filter { !$0.allSatisfy(\.isWhitespace) }
        if lines.count >= 3 { return true }
        var run = 0
        for scalar in text.unicodeScalars {
            let encoded = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
                || scalar == "+" || scalar == "/" || scalar == "="
            run = encoded ? run + 1 : 0
            if run >= 32 { return true }
        }
        for line in lines {
            let tokens = line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" })
            if tokens.count >= 16, tokens.filter({ $0.count <= 4 }).count * 10 >= tokens.count * 9 { return true }
        }
        return false
    }

    /// An answer with every secret masked in its body and headers (before anything reads or cuts it).
    /// A secret interleaved with a filler is looked for here too, in the whole body and every header, before anything
    /// reads or cuts them (a cut could leave a third of it, which no later check can tell from chance).
    func redact(_ response: WireResponse) -> WireResponse {
        guard !variants.isEmpty else { return response }
        var out = response
        let text = String(decoding: response.body, as: UTF8.self)
        var masked = redact(text)
        if masked != Self.withheld, interleavesACarriedSecret(masked) { masked = Self.withheld }
        if masked != text { out.body = Array(masked.utf8) }
        out.headers = response.headers.map { header in
            let value = redact(header.value)
            return (header.name, value != Self.withheld && interleavesACarriedSecret(value) ? Self.withheld : value)
        }
        return out
    }

    /// Whether `text` holds a secret, as a request carries it, interleaved with a filler.
    private func interleavesACarriedSecret(_ text: String) -> Bool {
        let lower = Self.lowerBytes(text)
        return carriedVariants.contains { Self.interleaved(lower, $0) }
    }
}
