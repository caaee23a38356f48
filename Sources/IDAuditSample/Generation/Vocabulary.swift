/// Word lists and fixed tables the generator draws from, as UTF-8 bytes.
enum Vocabulary {
    /// An identifier type the sample emits, with its `EXTERNAL_ID_TYPE` text.
    enum Kind: Int, CaseIterable {
        case userID, email, anonymousID, phone, gaClientID, iosID, androidID, iosIDFA, androidIDFA, crmID, brazeID

        /// The type as Profiles Sync writes it (custom types are lowercase, like Segment requires).
        var name: StaticString {
            switch self {
            case .userID: return "user_id"
            case .email: return "email"
            case .anonymousID: return "anonymous_id"
            case .phone: return "phone"
            case .gaClientID: return "ga_client_id"
            case .iosID: return "ios.id"
            case .androidID: return "android.id"
            case .iosIDFA: return "ios.idfa"
            case .androidIDFA: return "android.idfa"
            case .crmID: return "crm_id"
            case .brazeID: return "braze_id"
            }
        }
    }

    /// The type names as byte arrays, indexed by `Kind.rawValue`.
    static let kindNames: [[UInt8]] = Kind.allCases.map { kind in kind.name.withUTF8Buffer { Array($0) } }

    /// A Segment source: `TRIGGERING_EVENT_SOURCE_ID`, `_NAME`, `_SLUG`.
    struct Source {
        var id: [UInt8]
        var name: [UInt8]
        var slug: [UInt8]

        init(_ id: String, _ name: String, _ slug: String) {
            self.id = Array(id.utf8)
            self.name = Array(name.utf8)
            self.slug = Array(slug.utf8)
        }
    }

    /// Indexes into ``sources``.
    enum SourceIndex: Int {
        case web, ios, android, server, salesforce, shopify
    }

    static let sources: [Source] = [
        Source("q7PzK2mWx9", "Website", "website"),
        Source("Lr4Tn8VbYe", "iOS App", "ios_app"),
        Source("Ho3Gd6FsJa", "Android App", "android_app"),
        Source("Xc9Ue1NtRk", "Backend API", "backend_api"),
        Source("Bw5Mq0ZpLs", "Salesforce", "salesforce"),
        Source("Ty2Ja7DkWc", "Shopify Storefront", "shopify_storefront"),
    ]

    /// `TRIGGERING_EVENT_TYPE` values.
    enum EventType: Int {
        case identify, track, page, screen, alias

        var text: StaticString {
            switch self {
            case .identify: return "identify"
            case .track: return "track"
            case .page: return "page"
            case .screen: return "screen"
            case .alias: return "alias"
            }
        }
    }

    static func bytes(_ words: [String]) -> [[UInt8]] { words.map { Array($0.utf8) } }

    static let trackNames = bytes([
        "Product Viewed", "Product Added", "Order Completed", "Signed Up", "Logged In", "Checkout Started",
        "Cart Viewed", "Products Searched", "Application Opened", "Email Opened", "Subscription Started",
        "Coupon Applied", "Form Submitted", "Application Installed",
    ])
    /// Track event names that need RFC 4180 quoting (or are not ASCII); drawn for about 0.1% of rows.
    static let messyTrackNames = bytes([
        "Clicked \"Buy Now\"", "Viewed Promo, Summer Sale", "Form Submitted \"Contact Us, EMEA\"",
        "Café Menu Viewed", "Plan Changed: Pro, Annual",
    ])
    static let pageNames = bytes(["Home", "Pricing", "Product", "Checkout", "Blog", "Search", "Account"])
    static let screenNames = bytes(["Home", "Product Detail", "Cart", "Settings", "Onboarding"])

    /// Values broken tracking code sends instead of an identifier.
    static let junkValues = bytes(["null", "-1", "0000", "anonymous", "0", "---"])

    static let firstNames = bytes([
        "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "william", "elizabeth",
        "david", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "charles", "karen",
        "chris", "nancy", "daniel", "lisa", "matthew", "betty", "anthony", "margaret", "mark", "sandra",
        "donald", "ashley", "steven", "kim", "paul", "emily", "andrew", "donna", "joshua", "michelle",
        "kevin", "carol", "brian", "amanda", "george", "melissa", "tim", "deborah", "ronald", "stephanie",
        "jason", "rebecca", "ryan", "laura", "jacob", "sharon", "gary", "cynthia", "nicolas", "kathleen",
        "eric", "amy", "jonathan", "shirley",
    ])
    static let lastNames = bytes([
        "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
        "hernandez", "lopez", "gonzalez", "wilson", "anderson", "martin", "taylor", "moore", "jackson", "hughes",
        "lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson",
        "walker", "young", "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores",
        "green", "adams", "nelson", "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts",
        "gomez", "phillips", "evans", "turner", "diaz", "parker", "cruz", "edwards", "collins", "reyes",
        "stewart", "morris", "morales", "murphy",
    ])
    /// Email domains, repeated to weight them (gmail.com is the most common by far).
    static let domains = bytes([
        "gmail.com", "gmail.com", "gmail.com", "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "yahoo.com",
        "hotmail.com", "outlook.com", "outlook.com", "icloud.com", "icloud.com", "aol.com", "proton.me",
        "comcast.net", "acme.io", "example.org",
    ])
    static let areaCodes: [Int64] = [212, 310, 312, 415, 512, 617, 646, 702, 713, 206, 303, 404, 305, 503, 718, 801]
}
