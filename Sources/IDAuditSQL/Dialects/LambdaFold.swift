/// The window walk (``WindowFold``) written once, as a fold over each group's candidates in engines with
/// higher-order array functions (DuckDB, Spark, ClickHouse, Snowflake). Each of those dialects gives only its
/// spelling of the handful of array operations the walk needs.
///
/// The walk: the candidates of a (profile, type) group are folded oldest first into an accumulator `{k, e}`, the kept
/// values and the evicted ones; each candidate `x` is appended to `k`, `k` is cut to `x`'s window (`t > x.t - x.w`),
/// and while that window holds more than the limit the oldest unprotected value is evicted (one per step suffices:
/// each step adds one value). Records have the fields `n` (cpos), `t` (first_seen), `p` (protected), `w` (the
/// window) and `l` (the limit).
package struct LambdaSpelling: Sendable {
    /// A lambda of `parameters` returning `body`.
    package var lambda: @Sendable (_ parameters: [String], _ body: String) -> String
    /// The elements of `array` for which `predicate` (a lambda) holds.
    package var filter: @Sendable (_ array: String, _ predicate: String) -> String
    /// `array` with `element` appended.
    package var append: @Sendable (_ array: String, _ element: String) -> String
    /// The number of elements of `array`.
    package var size: @Sendable (_ array: String) -> String
    /// The field `name` of `record` (`n`, `t`, `p`, `w`, `l` of a candidate; `k`, `e` of the accumulator).
    package var field: @Sendable (_ record: String, _ name: String) -> String
    /// `n` of the first element of `array` for which `predicate` holds, NULL when none does.
    package var firstNumber: @Sendable (_ array: String, _ predicate: String) -> String
    /// The accumulator `{k, e}`.
    package var accumulator: @Sendable (_ kept: String, _ evicted: String) -> String
    /// `then` when `condition` holds, else `otherwise`.
    package var choose: @Sendable (_ condition: String, _ then: String, _ otherwise: String) -> String
    /// The group's candidates as records, in cpos order (an aggregate over `cpos, first_seen, prot, w, lim`).
    package var candidates: String
    /// The empty accumulator, typed.
    package var empty: String
    /// The evicted numbers `e` of the accumulator `step` folds `array` into from `initial`.
    package var reduce: @Sendable (_ array: String, _ initial: String, _ step: String) -> String
    /// One row (profile, type, cpos) per evicted number of the rows of `folded` (profile, type, evicted).
    package var explode: @Sendable (_ folded: String) -> String

    /// The select of evictions for `fold`.
    package func evictions(_ fold: WindowFold) -> String {
        func f(_ record: String, _ name: String) -> String { field(record, name) }
        let window = filter(
            append(f("acc", "k"), "x"), lambda(["e"], "\(f("e", "t")) > \(f("x", "t")) - \(f("x", "w"))"))
        let victim = firstNumber(window, lambda(["e"], "NOT \(f("e", "p"))"))
        let step = lambda(
            ["acc", "x"],
            choose(
                "\(size(window)) > \(f("x", "l")) AND \(victim) IS NOT NULL",
                accumulator(
                    filter(window, lambda(["e"], "\(f("e", "n")) <> \(victim)")), append(f("acc", "e"), victim)),
                accumulator(window, f("acc", "e"))))
        return explode(
            """
            SELECT profile, type, \(reduce(candidates, empty, step)) AS evicted
                \(fold.groups)
            """)
    }
}
