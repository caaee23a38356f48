import Foundation
import PackagePlugin

/// Stamps the executable with the commit it is built from: before every build, writes `BuildStamp.swift` (one
/// constant, `buildCommit`) from `git rev-parse`, rewriting it only when the commit changes so that an unchanged tree
/// recompiles nothing. Outside a git checkout (a source tarball) the commit is "unknown"; a tree with uncommitted
/// changes to tracked files is marked "+changes".
@main
struct VersionStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appending(path: "Stamp")
        let script = """
            mkdir -p "$2" || exit 1
            commit=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null) || commit=unknown
            if [ "$commit" != unknown ] && [ -n "$(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null | head -1)" ]; then
                commit="$commit+changes"
            fi
            line="let buildCommit = \\"$commit\\""
            [ "$(cat "$2/BuildStamp.swift" 2>/dev/null)" = "$line" ] || printf '%s\\n' "$line" > "$2/BuildStamp.swift"
            """
        return [
            .prebuildCommand(
                displayName: "Stamping the commit",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "stamp", context.package.directoryURL.path, out.path],
                outputFilesDirectory: out)
        ]
    }
}
