import IDAuditCore

/// Hand-written formatting of the sample's fields straight into a byte buffer.
///
/// The generator writes millions of rows: Foundation date formatting or `String(format:)` per field would dominate
/// its run time, so times, integers, UUIDs and segment ids are formatted here, digit by digit.
extension Array where Element == UInt8 {
    private static let lowerHex: [UInt8] = Array("0123456789abcdef".utf8)
    private static let upperHex: [UInt8] = Array("0123456789ABCDEF".utf8)
    private static let base62: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Appends ASCII text.
    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// Appends `value` as `digits` zero-padded decimal digits (the low digits when it has more).
    @inline(__always)
    mutating func appendDecimal(_ value: Int64, digits: Int) {
        let start = count
        append(contentsOf: repeatElement(48, count: digits))
        var v = value
        var i = start + digits - 1
        while i >= start {
            self[i] = UInt8(48 + v % 10)
            v /= 10
            i -= 1
        }
    }

    /// Appends a non-negative integer in decimal, without padding.
    mutating func appendDecimal(_ value: Int64) {
        var digits = 1
        var limit: Int64 = 10
        while digits < 19, value >= limit {
            digits += 1
            limit &*= 10
        }
        appendDecimal(value, digits: digits)
    }

    /// Appends the low `digits` hex digits of `value`.
    @inline(__always)
    mutating func appendHex(_ value: UInt64, digits: Int, uppercase: Bool = false) {
        let table = uppercase ? Self.upperHex : Self.lowerHex
        var shift = (digits - 1) * 4
        while shift >= 0 {
            append(table[Int((value >> UInt64(shift)) & 15)])
            shift -= 4
        }
    }

    /// Appends a random version-4 UUID (`8-4-4-4-12` hex digits) built from two random words.
    mutating func appendUUID(_ high: UInt64, _ low: UInt64, uppercase: Bool = false) {
        let high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000
        let low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        appendHex(high >> 32, digits: 8, uppercase: uppercase)
        append(45)
        appendHex(high >> 16, digits: 4, uppercase: uppercase)
        append(45)
        appendHex(high, digits: 4, uppercase: uppercase)
        append(45)
        appendHex(low >> 48, digits: 4, uppercase: uppercase)
        append(45)
        appendHex(low, digits: 12, uppercase: uppercase)
    }

    /// Appends `count` random base-62 characters.
    mutating func appendBase62(count: Int, using random: inout SampleRandom) {
        for _ in 0..<count { append(Self.base62[random.below(62)]) }
    }

    /// Appends a Segment profile id: `use_` and a KSUID (27 base-62 digits of a 4-byte timestamp, seconds since
    /// 2014-05-13T16:53:20Z, followed by 16 random bytes), so that ids sort by creation time like real ones do.
    mutating func appendSegmentID(createdAt micros: Int64, using random: inout SampleRandom) {
        append("use_")
        let seconds = Swift.max(0, micros / 1_000_000 - 1_400_000_000)
        var limbs: [UInt32] = [UInt32(truncatingIfNeeded: seconds)]
        let a = random.next()
        let b = random.next()
        limbs += [UInt32(truncatingIfNeeded: a >> 32), UInt32(truncatingIfNeeded: a),
                  UInt32(truncatingIfNeeded: b >> 32), UInt32(truncatingIfNeeded: b)]
        let start = count
        append(contentsOf: repeatElement(48, count: 27))
        var i = start + 26
        while i >= start {
            var remainder: UInt64 = 0
            for j in 0..<limbs.count {
                let current = remainder << 32 | UInt64(limbs[j])
                limbs[j] = UInt32(current / 62)
                remainder = current % 62
            }
            self[i] = Self.base62[Int(remainder)]
            i -= 1
        }
    }

    /// Appends a UTC time: `YYYY-MM-DD HH:MM:SS.ffffff`, or `YYYY-MM-DDTHH:MM:SS.fffZ` when `iso`.
    mutating func appendTime(_ micros: Int64, iso: Bool) {
        let seconds = micros / 1_000_000
        let fraction = micros % 1_000_000
        let (year, month, day) = Instant.civil(fromDays: seconds / 86_400)
        let secondOfDay = seconds % 86_400
        appendDecimal(year, digits: 4)
        append(45)
        appendDecimal(month, digits: 2)
        append(45)
        appendDecimal(day, digits: 2)
        append(iso ? 84 : 32)
        appendDecimal(secondOfDay / 3600, digits: 2)
        append(58)
        appendDecimal(secondOfDay % 3600 / 60, digits: 2)
        append(58)
        appendDecimal(secondOfDay % 60, digits: 2)
        append(46)
        if iso {
            appendDecimal(fraction / 1000, digits: 3)
            append(90)
        } else {
            appendDecimal(fraction, digits: 6)
        }
    }

    /// Appends one CSV field, quoted per RFC 4180 when it holds a comma, a quote, CR or LF.
    mutating func appendField(_ field: ArraySlice<UInt8>) {
        var needsQuotes = false
        for byte in field where byte == 44 || byte == 34 || byte == 10 || byte == 13 {
            needsQuotes = true
            break
        }
        guard needsQuotes else {
            append(contentsOf: field)
            return
        }
        append(34)
        for byte in field {
            if byte == 34 { append(34) }
            append(byte)
        }
        append(34)
    }
}
