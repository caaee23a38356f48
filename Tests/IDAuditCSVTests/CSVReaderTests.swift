import Foundation
import IDAuditCSV
import IDAuditTestSupport
import Testing

/// The RFC 4180 reader every input byte passes through (exports, plans, request files), tested directly: each case
/// is read with the default 1 MB buffer and with the smallest one (64 bytes), so that every record also straddles
/// refills and buffer growth.
struct CSVReaderTests {
    /// Every record of `bytes` as fields (nil for a field that is not valid UTF-8), with the line each starts on.
    static func records(_ bytes: [UInt8], bufferSize: Int = 1 << 20) throws -> [(line: Int, fields: [String?])] {
        let reader = CSVReader(source: MemoryByteSource(bytes), path: "t.csv", bufferSize: bufferSize)
        var out: [(Int, [String?])] = []
        while try reader.next() {
            out.append((reader.line, (0..<reader.fieldCount).map { reader.string(at: $0) }))
        }
        return out
    }

    /// The fields of every record, read with both buffer sizes, which must agree.
    static func fields(_ text: String) throws -> [[String?]] {
        try fields(Array(text.utf8))
    }

    static func fields(_ bytes: [UInt8]) throws -> [[String?]] {
        let big = try records(bytes).map(\.fields)
        let small = try records(bytes, bufferSize: 64).map(\.fields)
        #expect(big == small)
        return big
    }

    @Test func quotedFieldsHoldCommasDoubledQuotesAndLineBreaks() throws {
        #expect(try Self.fields("a,\"b,c\",\"d\"\"e\"\n") == [["a", "b,c", "d\"e"]])
        #expect(try Self.fields("\"x\ny\",\"\"\n") == [["x\ny", ""]])
        #expect(try Self.fields("a,,b,\n") == [["a", "", "b", ""]])
    }

    @Test func crlfEndsARecordAndStaysInsideQuotes() throws {
        let read = try Self.records(Array("\"x\r\ny\",z\r\nnext,1\r\n".utf8))
        #expect(read.map(\.fields) == [["x\r\ny", "z"], ["next", "1"]])
        #expect(read.map(\.line) == [1, 3])  // the physical line each record starts on
        // A lone CR is data (only CR before LF ends a line).
        #expect(try Self.fields("a\rb,c\n") == [["a\rb", "c"]])
    }

    @Test func aByteOrderMarkIsSkippedAndBlankLinesToo() throws {
        #expect(try Self.fields([0xEF, 0xBB, 0xBF] + Array("id,v\n\n1,2\r\n\r\n".utf8)) == [["id", "v"], ["1", "2"]])
        // Only at the start of the file.
        #expect(try Self.fields(Array("a\n".utf8) + [0xEF, 0xBB, 0xBF] + Array("b\n".utf8)) == [["a"], ["\u{FEFF}b"]])
    }

    @Test func aLastLineWithoutItsLineBreakIsARecord() throws {
        #expect(try Self.fields("a,b\n1,2") == [["a", "b"], ["1", "2"]])
        #expect(try Self.fields("a,b\n1,\"2\"") == [["a", "b"], ["1", "2"]])
        #expect(try Self.fields("a,b\n1,") == [["a", "b"], ["1", ""]])
    }

    @Test func anUnclosedQuoteNamesTheLineItStartsOn() throws {
        for size in [64, 1 << 20] {
            #expect {
                try Self.records(Array("a\nb\n\"never closed,\nx\n".utf8), bufferSize: size)
            } throws: { "\($0)" == "t.csv:3: unterminated quoted field (a \" is never closed)" }
            #expect {
                try Self.records(Array("a\n\"q\"x,1\n".utf8), bufferSize: size)
            } throws: { "\($0)".hasPrefix("t.csv:2: unexpected character after a closing quote in field 1") }
        }
    }

    @Test func aHeaderAloneIsOneRecordAndAnEmptyFileNone() throws {
        #expect(try Self.fields("a,b\n") == [["a", "b"]])
        #expect(try Self.fields("") == [])
        #expect(try Self.fields("\n\n") == [])
    }

    @Test func aTwoMegabyteFieldGrowsTheBuffer() throws {
        let big = String(repeating: "x,\"y\n", count: 400_000)  // 2 MB, quoted: commas, quotes and line breaks
        let escaped = big.replacingOccurrences(of: "\"", with: "\"\"")
        let text = "h1,h2\nsmall,\"" + escaped + "\"\nlast,1\n"
        let read = try Self.records(Array(text.utf8), bufferSize: 64)
        #expect(read.count == 3)
        #expect(read[1].fields == ["small", big])
        #expect(read[2].line == 3 + 400_000)
        #expect(try Self.records(Array(text.utf8)).map(\.fields) == read.map(\.fields))
    }

    @Test func nulAndNonASCIIAreKeptAndInvalidUTF8IsNil() throws {
        #expect(try Self.fields("a\u{0}b,\u{0}\n") == [["a\u{0}b", "\u{0}"]])
        let hostile = "\u{202E}rtl\u{0301} , \"both ' and \"\" quotes\" , back\\slash\u{2028}\u{85}"
        let expected: [String?] = ["\u{202E}rtl\u{0301} ", " \"both ' and \"\" quotes\" ", " back\\slash\u{2028}\u{85}"]
        #expect(try Self.fields(hostile + "\n") == [expected])
        let invalid: [UInt8] = Array("ok,".utf8) + [0xC3, 0x28] + Array(",\"".utf8) + [0xFF] + Array("\"\n".utf8)
        #expect(try Self.fields(invalid) == [["ok", nil, nil]])
        let reader = CSVReader(source: MemoryByteSource(invalid), path: "t.csv")
        #expect(try reader.next())
        #expect(reader.allFields() == ["ok", "\u{FFFD}(", "\u{FFFD}"])  // repaired, for headers and messages
    }

    /// Random records written by Python's `csv` module (the reference RFC 4180 writer here), read back: every field
    /// of every record equal, whatever the characters (quotes, commas, CR, LF, CRLF, NUL, non-ASCII).
    @Test(arguments: [1, 2, 3])
    func randomRecordsWrittenByPythonReadBackEqual(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        let alphabet: [String] = [
            "a", "b", "Z", "0", ",", "\"", "'", "\r", "\n", "\r\n", " ", "\\", "\u{0}", "\t", "é", "\u{202E}",
            "\u{0301}", "漢", "😀", "\u{2028}", "\u{85}", "\u{FEFF}",
        ]
        var rows: [[String]] = []
        for _ in 0..<300 {
            let width = Int(random.next() % 6) + 1
            rows.append(
                (0..<width).map { _ in
                    let length = Int(random.next() % 12)
                    return (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }.joined()
                })
        }
        // A row of one empty field is written as `""`; a first field starting with a BOM would be taken for one.
        rows = rows.map { row in row.enumerated().map { $0.offset == 0 && $0.element.hasPrefix("\u{FEFF}") ? "x" + $0.element : $0.element } }
        let dir = try TemporaryDirectory("csv-python")
        let json = try dir.write("rows.json", String(decoding: try JSONEncoder().encode(rows), as: UTF8.self))
        // Minimal quoting with CRLF; with LF, every field quoted (Python's writer leaves a lone CR unquoted when the
        // terminator is LF, and its own reader then splits the record there).
        for (terminator, quoting) in [("\\r\\n", "QUOTE_MINIMAL"), ("\\n", "QUOTE_ALL")] {
            let out = dir.file("rows.csv")
            let script = """
                import csv, json, sys
                rows = json.load(open(sys.argv[1], encoding="utf-8"))
                with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
                    csv.writer(f, lineterminator="\(terminator)", quoting=csv.\(quoting)).writerows(rows)
                with open(sys.argv[2], newline="", encoding="utf-8") as f:
                    assert list(csv.reader(f)) == rows, "python does not read its own file back"
                """
            let status = try Self.python(script, arguments: [json, out])
            try #require(status == 0, "python3 with its csv module is needed")
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: out)))
            #expect(try Self.fields(bytes) == rows.map { $0.map { Optional($0) } })
        }
    }

    static func python(_ script: String, arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
