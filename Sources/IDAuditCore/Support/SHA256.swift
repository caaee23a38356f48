import Crypto

/// SHA-256 (FIPS 180-4), used to fingerprint rules files and plans: swift-crypto's (BoringSSL's, with the CPU's SHA
/// instructions), already built for PostgresNIO. A 1 M-line plan (257 MB) is hashed in a fraction of a second, where
/// the byte-at-a-time Swift implementation this replaces took 2.5 s of apply's start. The tests check it against the
/// FIPS test vectors.
public struct SHA256Digest: Sendable {
    private var hasher = SHA256()

    /// Creates an empty digest.
    public init() {}

    /// The hex digest of `bytes`.
    public static func hex(of bytes: some Sequence<UInt8>) -> String {
        var digest = SHA256Digest()
        digest.update(bytes)
        return digest.finalizeHex()
    }

    /// Feeds more bytes.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        if done == nil { hasher.update(data: Array(bytes)) }
    }

    /// Feeds the bytes of a buffer.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    /// The digest as 64 lower-case hex characters.
    public mutating func finalizeHex() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in hasher.finalize() {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        hasher = SHA256()
        return String(decoding: out, as: UTF8.self)
    }
}
