import IDAuditCore
import Testing

struct InstantTests {
    @Test(arguments: [
        ("2026-11-23 10:15:30", Int64(1_795_428_930_000_000)),
        ("2026-11-23T10:15:30Z", 1_795_428_930_000_000),
        ("2026-11-23 10:15:30+00:00", 1_795_428_930_000_000),
        ("2026-11-23 10:15:30.5", 1_795_428_930_500_000),
        ("2026-11-23T10:15:30.123456789Z", 1_795_428_930_123_456),
        ("2026-11-23 12:15:30+02:00", 1_795_428_930_000_000),
        ("1970-01-01 00:00:00", 0),
        ("2024-02-29 00:00:00", 1_709_164_800_000_000),
        // Issue 12: the forms warehouse unloads write.
        ("2026-11-23 10:15:30 UTC", 1_795_428_930_000_000),  // BigQuery CSV
        ("2026-11-23 02:15:30.000 -0800", 1_795_428_930_000_000),  // Snowflake TIMESTAMP_TZ / LTZ
        ("2026-11-23 10:15:30+0000", 1_795_428_930_000_000),
        ("2026-11-23 10:15:30+00", 1_795_428_930_000_000),  // PostgreSQL and Redshift text output
        ("2026-11-23 15:45:30.123456789 +05:30", 1_795_428_930_123_456),
        ("2026-11-23T10:15:30 GMT", 1_795_428_930_000_000),
        ("2026-11-23 10:15:30 Z", 1_795_428_930_000_000),
    ])
    func parsesProfilesSyncTimes(text: String, micros: Int64) {
        #expect(Instant(parsing: text)?.microseconds == micros)
    }

    @Test(arguments: [
        "", "2026-11-23", "2026-13-01 00:00:00", "2025-02-29 00:00:00", "2026-11-23 24:00:00", "2026-11-23 10:15:30Q",
        "2026-11-23 10:15:30.", "2026/11/23 10:15:30", "2026-11-23 10:15:30 ", "20x6-11-23 10:15:30",
        // Named zones are ambiguous (daylight saving, abbreviations shared by zones): refused.
        "2026-11-23 10:15:30 PST", "2026-11-23 10:15:30 America/New_York", "2026-11-23 10:15:30+0", "2026-11-23 10:15:30+24:00",
        "2026-11-23 10:15:30+05:60", "2026-11-23 10:15:30  UTC",
    ])
    func rejectsOtherText(text: String) {
        #expect(Instant(parsing: text) == nil)
    }

    @Test func printsISO8601() {
        #expect(Instant(microseconds: 1_795_428_930_000_000).description == "2026-11-23T10:15:30Z")
        #expect(Instant(microseconds: 1_795_428_930_000_120).description == "2026-11-23T10:15:30.000120Z")
        #expect(Instant(microseconds: -1).description == "1969-12-31T23:59:59.999999Z")
    }

    /// Issue 18: the years 0001 to 9999 in UTC, and nothing outside them (engines print no such year alike).
    @Test func aTimeOutsideTheYears1To9999IsRefused() {
        #expect(Instant(parsing: "0001-01-01 00:00:00")?.microseconds == Instant.range.lowerBound)
        #expect(Instant(parsing: "9999-12-31 23:59:59.9999999")?.microseconds == Instant.range.upperBound)
        for text in ["0000-03-01 12:00:00", "0001-01-01 00:30:00+01", "9999-12-31 23:30:00 -01:00"] {
            #expect(Instant(parsing: text) == nil, "\(text)")
        }
    }
}

struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func matchesFIPSVectors(text: String, hex: String) {
        #expect(SHA256Digest.hex(of: Array(text.utf8)) == hex)
    }

    @Test func millionAs() {
        #expect(
            SHA256Digest.hex(of: [UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
