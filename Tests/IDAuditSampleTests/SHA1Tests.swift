import Testing

@testable import IDAuditSample

struct SHA1Tests {
    @Test(arguments: [
        ("", "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("a", "bc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("The quick brown fox ", "jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
        // 56 bytes: the length no longer fits the first block, padding takes a second one.
        ("abcdbcdecdefdefgefghfghighijhijk", "ijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
    ])
    func knownDigests(first: String, second: String, expected: String) {
        var out: [UInt8] = []
        SHA1.appendHex(of: Array(first.utf8)[...], Array(second.utf8)[...], to: &out)
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }

    @Test func longMessage() {
        var out: [UInt8] = []
        SHA1.appendHex(of: Array(repeating: UInt8(ascii: "a"), count: 1000)[...], [][...], to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }
}
