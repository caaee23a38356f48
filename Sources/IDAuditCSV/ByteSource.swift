#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CZlib

/// Something bytes can be read from, a chunk at a time.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer`; returns 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int
}

/// An error reading an input file (before any CSV is parsed).
public struct InputError: Error, Sendable, CustomStringConvertible {
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

/// Opens `path` for reading, decompressing it when its name ends in `.gz`.
public func openByteSource(path: String) throws(InputError) -> any ByteSource {
    let file = try FileByteSource(path: path)
    return path.hasSuffix(".gz") ? GzipByteSource(file: file, path: path) : file
}

/// A plain file read with POSIX `read(2)`.
public final class FileByteSource: ByteSource {
    private let fd: Int32
    /// The file's path.
    public let path: String

    /// Opens `path`.
    public init(path: String) throws(InputError) {
        self.path = path
        fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw InputError(path: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fd, base, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw InputError(path: path, message: "read failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// A gzip file (one or more members), inflated with the system zlib.
public final class GzipByteSource: ByteSource {
    private let file: FileByteSource
    private let path: String
    private var stream = z_stream()
    private var input: UnsafeMutableRawBufferPointer
    private var finished = false
    private var initialized = false

    init(file: FileByteSource, path: String) {
        self.file = file
        self.path = path
        input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 8)
    }

    deinit {
        if initialized { inflateEnd(&stream) }
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if !initialized {
            // 15 + 32: a zlib or gzip header, detected automatically.
            guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw InputError(path: path, message: "cannot start gzip decompression")
            }
            initialized = true
        }
        guard !finished, let out = buffer.baseAddress else { return 0 }
        stream.next_out = out.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = UInt32(buffer.count)
        while stream.avail_out == UInt32(buffer.count) {
            if stream.avail_in == 0 {
                let n = try file.read(into: input)
                if n == 0 {
                    finished = true
                    if stream.total_in > 0 && stream.total_out > 0 && !atMemberEnd {
                        throw InputError(path: path, message: "truncated gzip file")
                    }
                    break
                }
                stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = UInt32(n)
            }
            atMemberEnd = false
            let status = inflate(&stream, Z_NO_FLUSH)
            if status == Z_STREAM_END {
                atMemberEnd = true
                // Concatenated gzip members are one file (what `cat a.gz b.gz` and many unloaders write).
                inflateReset(&stream)
            } else if status != Z_OK && status != Z_BUF_ERROR {
                let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw InputError(path: path, message: "not a valid gzip file: \(reason)")
            }
        }
        return buffer.count - Int(stream.avail_out)
    }

    private var atMemberEnd = false
}

/// Bytes already in memory: what lets a caller hash a file and parse the very same bytes (an approved plan).
public final class MemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0

    /// Reads `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = min(buffer.count, bytes.count - position)
        guard n > 0, let base = buffer.baseAddress else { return 0 }
        bytes.withUnsafeBytes { source in
            base.copyMemory(from: source.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}

/// Reads a whole file into memory (plain, never decompressed): for files that are hashed and parsed as one.
public func readWholeFile(path: String) throws(InputError) -> [UInt8] {
    let file = try FileByteSource(path: path)
    var out: [UInt8] = []
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { chunk.deallocate() }
    while true {
        let n = try file.read(into: chunk)
        if n == 0 { return out }
        out.append(contentsOf: chunk[0..<n])
    }
}
