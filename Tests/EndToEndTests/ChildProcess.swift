import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where the built executables are: `$ORCHESTRATOR_BIN_DIR`, else next to the test binary.
func binDirectory() -> URL {
    if let dir = ProcessInfo.processInfo.environment["ORCHESTRATOR_BIN_DIR"], !dir.isEmpty {
        return URL(fileURLWithPath: dir)
    }
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    // On Linux the test binary is .build/<triple>/debug/<package>PackageTests.xctest.
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("orchestrator-server").path),
        directory.path != "/"
    {
        directory = directory.deletingLastPathComponent()
    }
    return directory
}

/// One of the project's executables running as a child process, its output in a log file.
class ChildProcess: @unchecked Sendable {
    let process = Process()
    let logURL: URL

    init(executable: String, arguments: [String], logURL: URL) throws {
        self.logURL = logURL
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = binDirectory().appendingPathComponent(executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// SIGKILL: no shutdown, no flush.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then wait.
    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
}

/// Runs one of the project's executables to completion and returns its exit status and output.
func runExecutable(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = binDirectory().appendingPathComponent(executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
