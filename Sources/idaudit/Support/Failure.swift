import ArgumentParser

/// The one mapping of errors to what the user sees: exit codes and validation errors pass through; anything else is a
/// one-line message (each line made inert) and exit code 3 ("could not run"), without stack traces.
func reported(_ error: any Error) -> any Error {
    switch error {
    case is ExitCode, is ValidationError: return error
    default:
        Terminal.endProgress()
        Terminal.warn("idaudit: error: " + Terminal.inertLines("\(error)"))
        return ExitCode(3)
    }
}

/// Runs `body`, reporting its failure (``reported(_:)``).
func reportingFailures<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch { throw reported(error) }
}

/// ``reportingFailures(_:)`` for async commands.
func reportingFailuresAsync<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch { throw reported(error) }
}

/// A command that cannot run, for a reason the message gives in full (printed without the usage text, exit 3).
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
