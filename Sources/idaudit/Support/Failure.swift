import ArgumentParser

/// Runs `body`, turning idaudit's errors into a one-line message and exit code 3 ("could not run"), without
/// stack traces.
func reportingFailures<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        Terminal.endProgress()
        Terminal.warn("idaudit: error: " + Terminal.inertLines("\(error)"))
        throw ExitCode(3)
    }
}

/// ``reportingFailures(_:)`` for async commands.
func reportingFailuresAsync<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        Terminal.endProgress()
        Terminal.warn("idaudit: error: " + Terminal.inertLines("\(error)"))
        throw ExitCode(3)
    }
}

/// A command that cannot run, for a reason the message gives in full (printed without the usage text, exit 3).
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
