#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An error writing an output file.
public struct OutputError: Error, Sendable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// What went wrong.
    public var message: String

    /// Creates an error.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// A buffered output file written under a temporary name and renamed into place by ``commit()``.
///
/// A crash, a `kill -9` or an error before `commit()` leaves the previous file (if any) untouched and no half-written
/// file under the final name: readers see the old version or the new one, never a mix.
public final class OutputFile {
    /// The final path.
    public let path: String
    private let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var committed = false

    /// Creates `path`'s temporary sibling and opens it for writing.
    public init(path: String) throws(OutputError) {
        self.path = path
        temporaryPath = path + ".tmp-\(getpid())"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw OutputError(path: path, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        if !committed {
            if fd >= 0 { close(fd) }
            unlink(temporaryPath)
        }
    }

    /// Appends text.
    public func write(_ text: String) throws(OutputError) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends bytes.
    public func write(bytes: some Sequence<UInt8>) throws(OutputError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends one CSV record (RFC 4180 quoting where needed, LF line ending).
    public func writeCSVRecord(_ fields: [String]) throws(OutputError) {
        for (i, field) in fields.enumerated() {
            if i > 0 { buffer.append(44) }
            CSVFormat.append(field, to: &buffer)
        }
        buffer.append(10)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws(OutputError) {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw OutputError(path: path, message: "write failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and renames the file into place.
    public func commit() throws(OutputError) {
        try flush()
        guard fsync(fd) == 0 else {
            throw OutputError(path: path, message: "fsync failed: \(String(cString: strerror(errno)))")
        }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            throw OutputError(path: path, message: "cannot rename into place: \(String(cString: strerror(errno)))")
        }
        committed = true
    }

    /// Writes `text` to `path` atomically.
    public static func write(_ text: String, to path: String) throws(OutputError) {
        let file = try OutputFile(path: path)
        try file.write(text)
        try file.commit()
    }
}

/// RFC 4180 field quoting.
public enum CSVFormat {
    /// Appends `field`, quoted when it holds a comma, a quote, CR or LF (or starts or ends with a space).
    public static func append(_ field: String, to out: inout [UInt8]) {
        var needsQuotes = false
        for byte in field.utf8 where byte == 44 || byte == 34 || byte == 10 || byte == 13 {
            needsQuotes = true
            break
        }
        if !needsQuotes {
            out.append(contentsOf: field.utf8)
            return
        }
        out.append(34)
        for byte in field.utf8 {
            if byte == 34 { out.append(34) }
            out.append(byte)
        }
        out.append(34)
    }
}

/// Creates `path` and its missing parents, like `mkdir -p`.
public func makeDirectories(_ path: String) throws(OutputError) {
    var current = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        current += "/" + component
        if mkdir(current, 0o755) != 0, errno != EEXIST {
            throw OutputError(path: current, message: "cannot create directory: \(String(cString: strerror(errno)))")
        }
    }
}
