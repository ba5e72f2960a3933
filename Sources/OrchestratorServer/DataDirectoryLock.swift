import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive lock on the data directory, so two servers never share one database.
final class DataDirectoryLock {
    private let descriptor: Int32
    let path: String

    init(directory: String) throws {
        if !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ServerStartupError("cannot create the data directory \(directory): \(error.localizedDescription)")
            }
        }
        path = (directory as NSString).appendingPathComponent("server.lock")
        descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ServerStartupError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            // deinit still runs for a class whose init throws after its properties are set:
            // mark the descriptor released so that it is closed here, once, and never again
            // (a second close could hit a descriptor number another thread already reused).
            released = true
            close(descriptor)
            throw ServerStartupError(
                "another orchestrator-server is already running with data directory \(directory); stop it first or pass a different --data-dir"
            )
        }
        _ = ftruncate(descriptor, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
    }

    private var released = false

    func release() {
        guard !released else { return }
        released = true
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    deinit { release() }
}
