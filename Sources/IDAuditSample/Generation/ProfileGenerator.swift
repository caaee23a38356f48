/// Generates one profile at a time, with its mapping and graph rows, into two shuffle buffers.
///
/// Each profile draws from its own random stream (seed, profile index), so a profile's content does not depend on
/// the profiles before it; only the shuffling draws from the export-wide stream.
struct ProfileGenerator {
    typealias Kind = Vocabulary.Kind
    typealias EventType = Vocabulary.EventType

    // MARK: - Model of the profile being generated

    /// One segment id of the profile: the root (index 0, the surviving canonical) or one merged into another.
    struct Segment {
        var id: Range<Int>
        var created: Int64
        /// When it was merged into `parent`; `Int64.max` for the root.
        var mergedAt: Int64 = .max
        var parent: Int = -1
    }

    /// One identifier of the profile.
    struct Identifier {
        var kind: Kind
        var value: Range<Int>
        var hash: Range<Int> = 0..<0
        var time: Int64
        var segment: Int = 0
        /// The identifier whose event created its segment (the first one observed on it).
        var creator = false
        var event = -1
        /// When it was deleted through the Delete Profile Identifier API (0: never).
        var removedAt: Int64 = 0
        /// When it was seen again after the deletion (0: never).
        var reintroducedAt: Int64 = 0
        /// Generation order, the last sort key so ties sort the same everywhere.
        var order = 0
    }

    /// The event that carried one or more identifiers (an identify with user_id, email and anonymous_id, ...).
    struct Event {
        var time: Int64
        var received: Int64
        var loaded: Int64
        var idHigh: UInt64
        var idLow: UInt64
        var type: EventType
        var name: [UInt8]
        var source: Int
        /// A backfilled row: TIMESTAMP empty, SEQ derived from RECEIVED_AT.
        var backfilled: Bool
        /// Times written as `YYYY-MM-DDTHH:MM:SS.fffZ` rather than `YYYY-MM-DD HH:MM:SS.ffffff`.
        var iso: Bool
        /// Mapping rows written for the event so far: the counter part of SEQ.
        var rows = 0
    }

    private enum Shape { case single, pair, star, chain }

    // MARK: - State

    static let microsPerSecond: Int64 = 1_000_000
    static let microsPerDay: Int64 = 86_400_000_000

    let seed: UInt64
    let start: Int64
    let end: Int64
    private let userIDNumbers: Scrambler
    private let emailNumbers: Scrambler
    private let phoneNumbers: Scrambler

    var mapping: ShuffledRows
    var graph: ShuffledRows

    private var random = SampleRandom(seed: 0)
    private var arena: [UInt8] = []
    private var hashes: [UInt8] = []
    private var segments: [Segment] = []
    private var identifiers: [Identifier] = []
    private var events: [Event] = []
    private var anonymousOnly = false
    /// How much more often the messy cases happen (``SampleOptions/heavyExcess``): 1 by default.
    var mess = 1.0
    private var mobile = false
    private var ios = false

    init(seed: UInt64, start: Int64, end: Int64, profiles: Int, chunkRows: Int) {
        self.seed = seed
        self.start = start
        self.end = end
        userIDNumbers = Scrambler(bits: Scrambler.bits(for: profiles * 4, minimum: 22), seed: seed ^ 1)
        emailNumbers = Scrambler(bits: Scrambler.bits(for: profiles * 16, minimum: 20), seed: seed ^ 2)
        phoneNumbers = Scrambler(bits: Scrambler.bits(for: profiles * 2, minimum: 23), seed: seed ^ 3)
        mapping = ShuffledRows(capacity: chunkRows)
        graph = ShuffledRows(capacity: chunkRows)
        arena.reserveCapacity(4096)
    }

    // MARK: - Profile

    /// Generates profile `index` and appends its rows to ``mapping`` and ``graph``.
    mutating func generate(profile index: Int) {
        random = SampleRandom(seed: seed, stream: UInt64(index))
        arena.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        segments.removeAll(keepingCapacity: true)
        identifiers.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)

        let (birth, finish) = lifetime()
        makeSegments(birth: birth, finish: finish)
        makeIdentifiers(index: index, birth: birth, finish: finish)
        assignSegmentsAndEvents()
        writeMappingRows()
        writeGraphRows()
    }

    /// The profile's first and last activity: births uniform over the period, lifetimes from a few minutes
    /// (a single visit) to a few years.
    private mutating func lifetime() -> (Int64, Int64) {
        let day = Self.microsPerDay
        var birth = random.micros(start, end)
        var life: Int64
        if random.chance(0.25) {
            life = random.micros(0, 3 * day)
        } else {
            let u = random.unit()
            life = Int64(u * u * Double(900 * day))
        }
        life = max(life, 60 * Self.microsPerSecond)
        // Leave room for RECEIVED_AT and UUID_TS before the end of the period.
        let latest = end - 6 * 3600 * Self.microsPerSecond
        if birth + life > latest { life = max(latest - birth, 0) }
        let shape = profileShape()
        let minimum = shape == .single ? 60 * Self.microsPerSecond : 2 * day
        if life < minimum {
            life = minimum
            birth = latest - life
        }
        pendingShape = shape
        return (birth, birth + life)
    }

    private var pendingShape = Shape.single

    /// About 8% of profiles are built from several segment ids: 5% two, 2% three merged into the root, 1% a
    /// chain of three (a merged into b, later b merged into the root).
    private mutating func profileShape() -> Shape {
        let u = random.unit()
        if u < 0.01 { return .chain }
        if u < 0.03 { return .star }
        if u < 0.08 { return .pair }
        return .single
    }

    // MARK: - Segments

    /// A time between `low` and `high`, at fraction `from..<to` of the way.
    private mutating func between(_ low: Int64, _ high: Int64, _ from: Double, _ to: Double) -> Int64 {
        let fraction = from + (to - from) * random.unit()
        return low + max(Self.microsPerSecond, Int64(Double(high - low) * fraction))
    }

    private mutating func addSegment(created: Int64, mergedAt: Int64 = .max, parent: Int = -1) {
        let from = arena.count
        arena.appendSegmentID(createdAt: created, using: &random)
        segments.append(Segment(id: from..<arena.count, created: created, mergedAt: mergedAt, parent: parent))
    }

    private mutating func makeSegments(birth: Int64, finish: Int64) {
        addSegment(created: birth)
        switch pendingShape {
        case .single:
            break
        case .pair, .star:
            for _ in 0..<(pendingShape == .pair ? 1 : 2) {
                let created = between(birth, finish, 0.02, 0.7)
                addSegment(created: created, mergedAt: between(created, finish, 0.05, 0.95), parent: 0)
            }
        case .chain:
            // The root (oldest) survives: the newest id merges into the middle one, later the middle one into
            // the root.
            let middle = between(birth, finish, 0.02, 0.4)
            let newest = between(middle, finish, 0.02, 0.4)
            let firstMerge = between(newest, finish, 0.05, 0.5)
            let secondMerge = between(firstMerge, finish, 0.05, 0.9)
            addSegment(created: middle, mergedAt: secondMerge, parent: 0)
            addSegment(created: newest, mergedAt: firstMerge, parent: 1)
        }
    }

    // MARK: - Identifiers

    private mutating func makeIdentifiers(index: Int, birth: Int64, finish: Int64) {
        anonymousOnly = random.chance(0.10)
        mobile = random.chance(0.30)
        ios = random.chance(0.5)

        // Emails first: an extra user_id is sometimes the email itself.
        let emailCount: Int
        if anonymousOnly {
            emailCount = random.chance(0.12) ? 1 : 0
        } else if random.chance(0.0167 * mess) {
            emailCount = random.between(6, 12)  // email sprawl
        } else {
            let u = random.unit()
            emailCount = u < 0.15 ? 0 : u < 0.60 ? 1 : 2
        }
        for k in 0..<emailCount {
            add(.email, time: random.micros(birth, finish)) { $0.appendEmail(index: index, slot: k) }
        }
        if emailCount > 0, random.chance(0.02 * min(mess, 5)) {
            // The same address with different case: a distinct value for Segment, the same person.
            let original = identifiers[random.below(identifiers.count)].value
            add(.email, time: random.micros(birth, finish)) { $0.appendCaseVariant(of: original) }
        }
        let firstEmail = identifiers.first?.value

        let userIDCount = anonymousOnly ? 0 : random.chance(0.045 * mess) ? (random.chance(0.7) ? 2 : 3) : 1
        for k in 0..<userIDCount {
            add(.userID, time: random.micros(birth, finish)) { g in
                if k > 0, let firstEmail, g.random.chance(0.5) {
                    g.copyArena(firstEmail)  // user_id set to the email, a classic tracking mistake
                } else if g.random.chance(0.6) {
                    g.arena.appendDecimal(10_000_000 + Int64(g.userIDNumbers(UInt64(index * 4 + k))))
                } else {
                    g.arena.appendUUID(g.random.next(), g.random.next())
                }
            }
        }

        let u = random.unit()
        let anonymousCount = u < 0.12 ? 1 : u < 0.35 ? 2 : u < 0.65 ? 3 : 4
        let uppercaseAnonymous = mobile && ios
        for _ in 0..<anonymousCount {
            add(.anonymousID, time: random.micros(birth, finish)) { g in
                g.arena.appendUUID(g.random.next(), g.random.next(), uppercase: uppercaseAnonymous)
            }
        }
        if random.chance(0.02 * mess) {
            // A burst: a bot, a broken SDK or a cleared-cookies loop, 8-20 anonymous ids in a few days.
            let window = min(finish - birth, random.micros(Self.microsPerDay, 4 * Self.microsPerDay))
            let from = random.micros(birth, finish - window)
            for _ in 0..<random.between(8, 20) {
                add(.anonymousID, time: random.micros(from, from + window)) { g in
                    g.arena.appendUUID(g.random.next(), g.random.next(), uppercase: uppercaseAnonymous)
                }
            }
        }

        if !anonymousOnly, random.chance(0.22) {
            for k in 0..<(random.chance(0.1) ? 2 : 1) {
                add(.phone, time: random.micros(birth, finish)) { $0.appendPhone(index: index, slot: k) }
            }
        }
        if !mobile || random.chance(0.3), random.chance(0.45) {
            for _ in 0..<random.between(1, 3) {
                add(.gaClientID, time: random.micros(birth, finish)) { g in
                    // `<random>.<cookie creation, epoch seconds>`; created before the profile's first event, which
                    // is as far back as event grouping can move an identifier's time.
                    g.arena.appendDecimal(Int64(g.random.between(100_000_000, 2_147_483_647)))
                    g.arena.append(46)
                    g.arena.appendDecimal(birth / Self.microsPerSecond - Int64(g.random.below(86_400 * 30)))
                }
            }
        }
        if mobile {
            for _ in 0..<(random.chance(0.25) ? 2 : 1) {
                add(ios ? .iosID : .androidID, time: random.micros(birth, finish)) { g in
                    if g.ios {
                        g.arena.appendUUID(g.random.next(), g.random.next(), uppercase: true)
                    } else {
                        g.arena.appendHex(g.random.next(), digits: 16)
                    }
                }
            }
            if random.chance(0.15) {
                add(ios ? .iosIDFA : .androidIDFA, time: random.micros(birth, finish)) { g in
                    g.arena.appendUUID(g.random.next(), g.random.next(), uppercase: g.ios)
                }
            }
        }
        if !anonymousOnly, random.chance(0.40) {
            add(.crmID, time: random.micros(birth, finish)) { g in
                g.arena.append("0035e")  // a Salesforce Contact id: key prefix, pod, then base 62
                g.arena.appendBase62(count: 13, using: &g.random)
            }
        }
        if random.chance(0.25) {
            add(.brazeID, time: random.micros(birth, finish)) { g in
                g.arena.appendHex(g.random.next() >> 32, digits: 8)
                g.arena.appendHex(g.random.next(), digits: 16)
            }
        }

        // The earliest identifier created the profile, at its birth; each merged-away segment id was created by
        // an anonymous visit of its own.
        var first = 0
        for i in identifiers.indices where identifiers[i].time < identifiers[first].time { first = i }
        identifiers[first].time = birth
        identifiers[first].creator = true
        for s in segments.indices.dropFirst() {
            add(.anonymousID, time: segments[s].created) { g in
                g.arena.appendUUID(g.random.next(), g.random.next(), uppercase: uppercaseAnonymous)
            }
            identifiers[identifiers.count - 1].segment = s
            identifiers[identifiers.count - 1].creator = true
        }
    }

    /// Adds an identifier whose value `makeValue` appends to the arena, replaced by a junk value 0.5% of the
    /// time; about 1.2% are later removed, and 30% of those come back.
    private mutating func add(_ kind: Kind, time: Int64, _ makeValue: (inout ProfileGenerator) -> Void) {
        let from = arena.count
        if random.chance(0.005) {
            arena.append(contentsOf: Vocabulary.junkValues[random.below(Vocabulary.junkValues.count)])
        } else {
            makeValue(&self)
        }
        var identifier = Identifier(kind: kind, value: from..<arena.count, time: time, order: identifiers.count)
        if random.chance(0.012) {
            // Deletions start when the Delete Profile Identifier API did: within the last year of the period.
            // Three hours after creation at the earliest: after the CREATED row's RECEIVED_AT, whose SEQ a
            // backfilled row carries.
            let low = max(time + 3 * 3600 * Self.microsPerSecond, end - 365 * Self.microsPerDay)
            let high = end - 6 * 3600 * Self.microsPerSecond
            if low < high {
                identifier.removedAt = random.micros(low, high)
                if random.chance(0.3) {
                    identifier.reintroducedAt = random.micros(identifier.removedAt + 60 * Self.microsPerSecond, high)
                }
            }
        }
        identifiers.append(identifier)
    }

    private mutating func copyArena(_ range: Range<Int>) {
        let copy = Array(arena[range])
        arena.append(contentsOf: copy)
    }

    private mutating func appendEmail(index: Int, slot: Int) {
        let n = emailNumbers(UInt64(index * 16 + slot))
        let first = Vocabulary.firstNames[Int(n & 63)]
        let last = Vocabulary.lastNames[Int((n >> 6) & 63)]
        let suffix = Int64(n >> 12)
        let from = arena.count
        // first.last, first_last, firstlast or last.first: every style keeps both names whole, so distinct
        // numbers never give the same address.
        let style = random.below(20)
        arena.append(contentsOf: style < 18 ? first : last)
        if style < 13 || style >= 18 { arena.append(46) } else if style < 15 { arena.append(95) }
        arena.append(contentsOf: style < 18 ? last : first)
        if suffix > 0 { arena.appendDecimal(suffix) }
        arena.append(64)
        arena.append(contentsOf: Vocabulary.domains[random.below(Vocabulary.domains.count)])
        if random.chance(0.03) { arena[from] -= 32 }  // "John.smith@…": values are compared exactly
        if random.chance(0.0005) { arena.append(32) }  // a trailing space nobody trimmed
    }

    private mutating func appendCaseVariant(of range: Range<Int>) {
        let from = arena.count
        copyArena(range)
        var capitalizeNext = true
        for i in from..<arena.count {
            if capitalizeNext, arena[i] >= 97, arena[i] <= 122 { arena[i] -= 32 }
            capitalizeNext = arena[i] == 64 || arena[i] == 46
        }
    }

    private mutating func appendPhone(index: Int, slot: Int) {
        let area = Vocabulary.areaCodes[random.below(Vocabulary.areaCodes.count)]
        let number = Int64(phoneNumbers(UInt64(index * 2 + slot)) % 10_000_000)
        if random.chance(0.7) {
            arena.append("+1")
            arena.appendDecimal(area, digits: 3)
            arena.appendDecimal(number, digits: 7)
        } else {
            arena.appendDecimal(area, digits: 3)
            arena.append(45)
            arena.appendDecimal(number / 10_000, digits: 3)
            arena.append(45)
            arena.appendDecimal(number, digits: 4)
        }
    }

    // MARK: - Segments and events

    /// Puts identifiers in time order, spreads those seen while merged-away segment ids were alive over them
    /// (never a user_id: it would have blocked the merge), and groups identifiers into events.
    private mutating func assignSegmentsAndEvents() {
        if segments.count > 1 {
            for i in identifiers.indices where !identifiers[i].creator && identifiers[i].kind != .userID {
                let t = identifiers[i].time
                var alive = 0
                for s in segments.indices.dropFirst() where segments[s].created <= t && t < segments[s].mergedAt {
                    alive += 1
                }
                guard alive > 0, random.chance(0.5) else { continue }
                var pick = random.below(alive)
                for s in segments.indices.dropFirst() where segments[s].created <= t && t < segments[s].mergedAt {
                    if pick == 0 {
                        identifiers[i].segment = s
                        break
                    }
                    pick -= 1
                }
            }
        }
        identifiers.sort { a, b in
            if a.time != b.time { return a.time < b.time }
            if a.creator != b.creator { return a.creator }
            return a.order < b.order
        }
        for i in identifiers.indices {
            let kind = identifiers[i].kind
            if i > 0, !identifiers[i].creator {
                let previous = identifiers[i - 1]
                let event = previous.event
                if previous.kind != kind, events[event].rows < 4, Self.canCarry(kind, events[event].source),
                    kind != .userID || previous.segment == 0, random.chance(0.35)
                {
                    identifiers[i].time = events[event].time
                    identifiers[i].segment = previous.segment
                    identifiers[i].event = event
                    events[event].rows += 1
                    continue
                }
            }
            identifiers[i].event = events.count
            events.append(makeEvent(for: kind, at: identifiers[i].time))
            events[events.count - 1].rows = 1
            if identifiers[i].creator { identifiers[i].time = events[events.count - 1].time }
        }
        // The creator's time may have been rounded to milliseconds: keep segment creation on the same instant.
        for i in identifiers.indices where identifiers[i].creator {
            segments[identifiers[i].segment].created = identifiers[i].time
        }
        for i in identifiers.indices {
            identifiers[i].time = events[identifiers[i].event].time
            let from = hashes.count
            SHA1.appendHex(
                of: Vocabulary.kindNames[identifiers[i].kind.rawValue][...], arena[identifiers[i].value],
                to: &hashes)
            identifiers[i].hash = from..<hashes.count
        }
    }

    /// Whether an event from `source` can carry an identifier of `kind` (no cookie id from Salesforce).
    private static func canCarry(_ kind: Kind, _ source: Int) -> Bool {
        switch kind {
        case .anonymousID, .gaClientID:
            return source <= Vocabulary.SourceIndex.android.rawValue
        case .iosID, .iosIDFA:
            return source == Vocabulary.SourceIndex.ios.rawValue
        case .androidID, .androidIDFA:
            return source == Vocabulary.SourceIndex.android.rawValue
        case .crmID:
            return source == Vocabulary.SourceIndex.salesforce.rawValue
        case .userID, .email, .phone, .brazeID:
            return true
        }
    }

    /// An event that could carry an identifier of `kind`: source, type and name drawn to match.
    private mutating func makeEvent(for kind: Kind, at time: Int64) -> Event {
        let app = ios ? Vocabulary.SourceIndex.ios.rawValue : Vocabulary.SourceIndex.android.rawValue
        let web = Vocabulary.SourceIndex.web.rawValue
        var source = web
        var type = EventType.identify
        let u = random.unit()
        switch kind {
        case .anonymousID:
            if mobile, random.chance(0.7) {
                source = app
                type = u < 0.45 ? .screen : u < 0.85 ? .track : .identify
            } else {
                type = u < 0.55 ? .page : u < 0.85 ? .track : .identify
            }
        case .gaClientID:
            type = u < 0.7 ? .page : .track
        case .iosID, .androidID, .iosIDFA, .androidIDFA:
            source = app
            type = u < 0.4 ? .screen : u < 0.8 ? .track : .identify
        case .userID, .email, .brazeID:
            type = u < 0.7 ? .identify : u < 0.9 ? .track : u < 0.95 ? .alias : .page
            let v = random.unit()
            if mobile, v < 0.3 {
                source = app
            } else if v < 0.75 {
                source = web
            } else if v < 0.92 {
                source = Vocabulary.SourceIndex.server.rawValue
            } else {
                source = Vocabulary.SourceIndex.shopify.rawValue
                if type == .page { type = .track }
            }
        case .phone:
            source = random.chance(0.5) ? Vocabulary.SourceIndex.server.rawValue
                : Vocabulary.SourceIndex.salesforce.rawValue
        case .crmID:
            source = Vocabulary.SourceIndex.salesforce.rawValue
        }
        if type == .page, source != web { type = .screen }
        var name: [UInt8] = []
        switch type {
        case .track:
            if random.chance(0.004) {
                name = Vocabulary.messyTrackNames[random.below(Vocabulary.messyTrackNames.count)]
            } else {
                name = Vocabulary.trackNames[random.below(Vocabulary.trackNames.count)]
            }
        case .page:
            if random.chance(0.8) { name = Vocabulary.pageNames[random.below(Vocabulary.pageNames.count)] }
        case .screen:
            name = Vocabulary.screenNames[random.below(Vocabulary.screenNames.count)]
        case .identify, .alias:
            break
        }
        var event = timedEvent(at: time, type: type, source: source, backfillable: true)
        event.name = name
        return event
    }

    /// An event at `time` with its RECEIVED_AT (milliseconds to seconds later, hours for a mobile batch sent
    /// from offline) and UUID_TS (the hourly warehouse load), 20% of them written in the ISO form.
    private mutating func timedEvent(at time: Int64, type: EventType, source: Int, backfillable: Bool) -> Event {
        let iso = random.chance(0.2)
        var time = time
        let second = Self.microsPerSecond
        var received = time + (random.chance(0.05)
            ? random.micros(second, 2 * 3600 * second) : random.micros(20_000, 3 * second))
        var loaded = received + random.micros(5 * 60 * second, 90 * 60 * second)
        if iso {
            time -= time % 1000
            received -= received % 1000
            loaded -= loaded % 1000
        }
        return Event(
            time: time, received: received, loaded: loaded, idHigh: random.next(), idLow: random.next(),
            type: type, name: [], source: source, backfilled: backfillable && random.chance(0.03), iso: iso)
    }

    // MARK: - Rows

    /// CREATED rows (and REMOVED rows, and the CREATED rows of reintroductions) for every identifier.
    private mutating func writeMappingRows() {
        for i in identifiers.indices {
            let identifier = identifiers[i]
            writeMappingRow(identifier, segment: identifier.segment, event: identifier.event, removed: false)
            if identifier.removedAt > 0 {
                // Deletion goes through the profile, so the row names the canonical id; no triggering event.
                var event = timedEvent(at: identifier.removedAt, type: .identify, source: 0, backfillable: false)
                event.rows = 1
                events.append(event)
                writeMappingRow(identifier, segment: 0, event: events.count - 1, removed: true)
                if identifier.reintroducedAt > 0 {
                    events.append(makeEvent(for: identifier.kind, at: identifier.reintroducedAt))
                    events[events.count - 1].rows = 1
                    writeMappingRow(identifier, segment: 0, event: events.count - 1, removed: false)
                }
            }
        }
    }

    private mutating func writeMappingRow(_ identifier: Identifier, segment: Int, event e: Int, removed: Bool) {
        let event = events[e]
        let counter = Int64(event.rows - 1)
        events[e].rows -= 1  // counts down as the event's rows are written: each gets its own SEQ counter
        let seqTime = event.backfilled ? event.received : event.time
        mapping.beginRow()
        mapping.bytes.appendUUID(random.next(), random.next())
        mapping.bytes.append(44)
        mapping.bytes.append(contentsOf: arena[segments[segment].id])
        mapping.bytes.append(44)
        mapping.bytes.append(contentsOf: hashes[identifier.hash])
        mapping.bytes.append(44)
        mapping.bytes.append(contentsOf: Vocabulary.kindNames[identifier.kind.rawValue])
        mapping.bytes.append(44)
        mapping.bytes.appendField(arena[identifier.value])
        mapping.bytes.append(44)
        if !event.backfilled { mapping.bytes.appendTime(event.time, iso: event.iso) }
        mapping.bytes.append(44)
        mapping.bytes.appendTime(event.received, iso: event.iso)
        mapping.bytes.append(44)
        mapping.bytes.appendDecimal(seqTime * 10 + counter)
        mapping.bytes.append(44)
        mapping.bytes.appendTime(event.loaded, iso: event.iso)
        if removed {
            mapping.bytes.append(",,,,,,,REMOVED")
        } else {
            let source = Vocabulary.sources[event.source]
            mapping.bytes.append(44)
            mapping.bytes.appendUUID(event.idHigh, event.idLow)
            mapping.bytes.append(44)
            mapping.bytes.appendField(event.name[...])
            mapping.bytes.append(44)
            mapping.bytes.append(contentsOf: source.id)
            mapping.bytes.append(44)
            mapping.bytes.append(contentsOf: source.name)
            mapping.bytes.append(44)
            mapping.bytes.append(contentsOf: source.slug)
            mapping.bytes.append(44)
            mapping.bytes.append(event.type.text)
            // An empty __OPERATION also means CREATED (rows written before the column existed).
            mapping.bytes.append(random.chance(0.02) ? "," : ",CREATED")
        }
        mapping.endRow()
    }

    /// A creation row per segment id (on its creator's event), and a merge row per merged-away one.
    private mutating func writeGraphRows() {
        for identifier in identifiers where identifier.creator {
            let event = events[identifier.event]
            let id = segments[identifier.segment].id
            writeGraphRow(
                segment: id, canonical: id, type: event.type, idHigh: event.idHigh, idLow: event.idLow,
                time: event.time, loaded: event.loaded, iso: event.iso)
        }
        for s in segments.indices where segments[s].parent >= 0 {
            let u = random.unit()
            let event = timedEvent(
                at: segments[s].mergedAt, type: u < 0.75 ? .identify : u < 0.95 ? .alias : .track, source: 0,
                backfillable: false)
            writeGraphRow(
                segment: segments[s].id, canonical: segments[segments[s].parent].id, type: event.type,
                idHigh: event.idHigh, idLow: event.idLow, time: event.time, loaded: event.loaded, iso: event.iso)
        }
    }

    private mutating func writeGraphRow(
        segment: Range<Int>, canonical: Range<Int>, type: EventType, idHigh: UInt64, idLow: UInt64, time: Int64,
        loaded: Int64, iso: Bool
    ) {
        graph.beginRow()
        graph.bytes.append(contentsOf: arena[segment])
        graph.bytes.append(44)
        graph.bytes.append(contentsOf: arena[canonical])
        graph.bytes.append(44)
        graph.bytes.append(type.text)
        graph.bytes.append(44)
        graph.bytes.appendUUID(idHigh, idLow)
        graph.bytes.append(44)
        graph.bytes.appendTime(time, iso: iso)
        graph.bytes.append(44)
        graph.bytes.appendDecimal(time * 10)
        graph.bytes.append(44)
        graph.bytes.appendTime(loaded, iso: iso)
        graph.endRow()
    }
}
