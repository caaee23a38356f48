/// SHA-1 (FIPS 180-4), just enough to compute `EXTERNAL_ID_HASH` the way Profiles Sync does:
/// `TO_HEX(SHA1(CONCAT(external_id_type, external_id_value)))`.
///
/// Not for anything security-related: SHA-1 is what the warehouse column holds, so that is what a realistic sample
/// must hold.
enum SHA1 {
    /// Appends the lowercase hex SHA-1 of `first` followed by `second` to `out` (40 bytes).
    static func appendHex(of first: ArraySlice<UInt8>, _ second: ArraySlice<UInt8>, to out: inout [UInt8]) {
        var h0: UInt32 = 0x6745_2301
        var h1: UInt32 = 0xEFCD_AB89
        var h2: UInt32 = 0x98BA_DCFE
        var h3: UInt32 = 0x1032_5476
        var h4: UInt32 = 0xC3D2_E1F0
        let length = first.count + second.count
        let padded = (length + 8) / 64 * 64 + 64
        let bitLength = UInt64(length) * 8
        @inline(__always) func byte(_ position: Int) -> UInt8 {
            if position < first.count { return first[first.startIndex + position] }
            if position < length { return second[second.startIndex + position - first.count] }
            if position == length { return 0x80 }
            if position >= padded - 8 {
                return UInt8(truncatingIfNeeded: bitLength >> UInt64((padded - 1 - position) * 8))
            }
            return 0
        }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            var block = 0
            while block < padded {
                for i in 0..<16 {
                    let p = block + i * 4
                    w[i] = UInt32(byte(p)) << 24 | UInt32(byte(p + 1)) << 16 | UInt32(byte(p + 2)) << 8
                        | UInt32(byte(p + 3))
                }
                for i in 16..<80 {
                    let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                    w[i] = (x << 1) | (x >> 31)
                }
                var a = h0
                var b = h1
                var c = h2
                var d = h3
                var e = h4
                for i in 0..<80 {
                    let f: UInt32
                    let k: UInt32
                    switch i {
                    case 0..<20:
                        f = (b & c) | (~b & d)
                        k = 0x5A82_7999
                    case 20..<40:
                        f = b ^ c ^ d
                        k = 0x6ED9_EBA1
                    case 40..<60:
                        f = (b & c) | (b & d) | (c & d)
                        k = 0x8F1B_BCDC
                    default:
                        f = b ^ c ^ d
                        k = 0xCA62_C1D6
                    }
                    let temp = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[i]
                    e = d
                    d = c
                    c = (b << 30) | (b >> 2)
                    b = a
                    a = temp
                }
                h0 &+= a
                h1 &+= b
                h2 &+= c
                h3 &+= d
                h4 &+= e
                block += 64
            }
        }
        out.appendHex(UInt64(h0) << 32 | UInt64(h1), digits: 16)
        out.appendHex(UInt64(h2) << 32 | UInt64(h3), digits: 16)
        out.appendHex(UInt64(h4), digits: 8)
    }
}
