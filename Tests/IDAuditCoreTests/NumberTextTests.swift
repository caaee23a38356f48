import IDAuditCore
import Testing

/// The one grouping of numbers for people (the terminal, the reports, whatif, request-plan).
struct NumberTextTests {
    @Test(arguments: [
        (0, "0"), (7, "7"), (999, "999"), (1000, "1,000"), (1_234_567, "1,234,567"), (-912, "-912"),
        (-1912, "-1,912"), (Int.min, "-9,223,372,036,854,775,808"),
    ])
    func thousandsAreGroupedAndTheSignStaysOutside(_ n: Int, _ text: String) {
        #expect(NumberText.grouped(n) == text)
    }
}
