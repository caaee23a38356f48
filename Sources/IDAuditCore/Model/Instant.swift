/// A point in time, in whole microseconds since 1970-01-01T00:00:00Z (UTC).
///
/// Profiles Sync writes times as `YYYY-MM-DD HH:MM:SS[.fraction]`, sometimes with a `T` separator and a trailing
/// `Z` or `+00:00`. ``Instant/init(parsing:)`` reads all of those without Foundation's date parsers, which are far
/// too slow for the ingest hot path, and ``description`` prints the canonical ISO 8601 form.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Microseconds since the Unix epoch.
    public var microseconds: Int64

    /// Creates an instant from microseconds since the Unix epoch.
    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    /// Creates an instant from whole seconds since the Unix epoch.
    public init(seconds: Int64) {
        self.microseconds = seconds * 1_000_000
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.microseconds < rhs.microseconds }

    /// Parses `YYYY-MM-DD[ T]HH:MM:SS[.fraction][zone]`; returns nil for anything else.
    ///
    /// The zone is `Z`, `UTC`, `GMT`, or an offset `±HH:MM`, `±HHMM` or `±HH`, optionally after one space (the forms
    /// BigQuery, Snowflake, Redshift and PostgreSQL unloads write); the time is converted to UTC. Fractions longer than
    /// six digits (nanoseconds) are truncated to microseconds. A missing zone means UTC; a named zone
    /// (`America/New_York`, `PST`) is ambiguous and refused, and so is a time outside the years 0001 to 9999 in UTC
    /// (``range``).
    public init?(parsing text: some StringProtocol) {
        var copy = String(text)
        guard let value = copy.withUTF8({ Instant.parse($0) }) else { return nil }
        self.microseconds = value
    }

    /// Parses the bytes of a time field (see ``init(parsing:)``).
    public init?(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        guard let value = Instant.parse(bytes) else { return nil }
        self.microseconds = value
    }

    private static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        let n = b.count
        guard n >= 19 else { return nil }
        @inline(__always) func digits(_ at: Int, _ count: Int) -> Int64? {
            var v: Int64 = 0
            for i in at..<(at + count) {
                let c = b[i] &- 48
                guard c < 10 else { return nil }
                v = v * 10 + Int64(c)
            }
            return v
        }
        guard b[4] == 45, b[7] == 45, b[10] == 32 || b[10] == 84, b[13] == 58, b[16] == 58,
            let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
            let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2),
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var micros: Int64 = 0
        var i = 19
        if i < n, b[i] == 46 {  // '.'
            i += 1
            var scale: Int64 = 100_000
            let start = i
            while i < n, b[i] &- 48 < 10 {
                if scale > 0 {
                    micros += Int64(b[i] - 48) * scale
                    scale /= 10
                }
                i += 1
            }
            guard i > start else { return nil }
        }
        var offsetSeconds: Int64 = 0
        if i < n {
            // The zone, as warehouses unload it: `Z`, `+00:00` (ISO 8601), `+0000`, `+00`, ` UTC` (BigQuery),
            // ` -0800` (Snowflake TIMESTAMP_TZ), each optionally after one space. Named zones are refused.
            var j = i
            if b[j] == 32 { j += 1 }
            let rest = n - j
            if rest == 1, b[j] == 90 || b[j] == 122 {  // Z, z
                i = n
            } else if rest == 3,
                (b[j] == 85 && b[j + 1] == 84 && b[j + 2] == 67) || (b[j] == 71 && b[j + 1] == 77 && b[j + 2] == 84)
            {  // UTC, GMT
                i = n
            } else if rest >= 3, b[j] == 43 || b[j] == 45, let oh = digits(j + 1, 2), oh < 24 {
                var om: Int64 = 0
                if rest == 6, b[j + 3] == 58, let m = digits(j + 4, 2) {
                    om = m
                } else if rest == 5, let m = digits(j + 3, 2) {
                    om = m
                } else if rest != 3 {
                    return nil
                }
                guard om < 60 else { return nil }
                offsetSeconds = (oh * 3600 + om * 60) * (b[j] == 43 ? 1 : -1)
                i = n
            } else {
                return nil
            }
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let value = seconds * 1_000_000 + micros
        return range.contains(value) ? value : nil
    }

    /// The times an export may hold, in microseconds: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z. A time
    /// outside them (year 0000, or a year pushed past either end by its offset) is refused: engines print no such
    /// year alike.
    public static let range: ClosedRange<Int64> =
        (daysFromCivil(year: 1, month: 1, day: 1) * 86_400_000_000)...(daysFromCivil(year: 10_000, month: 1, day: 1)
            * 86_400_000_000 - 1)

    private static func isLeap(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    public static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    public static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// ISO 8601 in UTC: `2026-11-23T08:15:00Z`, with `.ffffff` when the time has a fraction of a second.
    public var description: String {
        var seconds = microseconds / 1_000_000
        var micros = microseconds % 1_000_000
        if micros < 0 {
            micros += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (y, m, d) = Instant.civil(fromDays: days)
        // Digit by digit into a small buffer: this runs for every line of every plan.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        func put(_ v: Int64, _ width: Int) {
            var digits = [UInt8](repeating: 48, count: width)
            var rest = v
            for i in stride(from: width - 1, through: 0, by: -1) {
                digits[i] = UInt8(48 + rest % 10)
                rest /= 10
            }
            if rest > 0 { bytes.append(contentsOf: String(v).utf8) } else { bytes.append(contentsOf: digits) }
        }
        if y < 0 { return "\(y)-\(m)-\(d)T\(secondOfDay)s.\(micros)Z" }  // outside any export's range
        put(y, 4)
        bytes.append(45)
        put(m, 2)
        bytes.append(45)
        put(d, 2)
        bytes.append(84)
        put(secondOfDay / 3600, 2)
        bytes.append(58)
        put(secondOfDay % 3600 / 60, 2)
        bytes.append(58)
        put(secondOfDay % 60, 2)
        if micros != 0 {
            bytes.append(46)
            put(micros, 6)
        }
        bytes.append(90)
        return String(decoding: bytes, as: UTF8.self)
    }
}
