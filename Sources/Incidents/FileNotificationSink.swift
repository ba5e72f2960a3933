import Foundation
import OrchestratorProtocol
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Appends one JSON line per notification to a file, applying each idempotency key once, even when
/// several worker processes share the file:
///
///     {"at":"2026-11-22T10:15:30.125Z","incident":"incident-payment-api","key":"incident-payment-api/…/3","kind":"escalated","level":1,"responder":null,"service":"payment-api"}
///
/// Each delivery takes an exclusive `flock` on the file, reads what other processes appended since
/// this one last looked, checks the key, appends, and fsyncs, so that a key is never written twice.
public final class FileNotificationSink: NotificationSink {
    public let path: String
    /// Simulated latency of a real notification service (fault-injection tests): each delivery
    /// waits a random time in this range, in milliseconds, before it is applied.
    public let latencyMs: ClosedRange<Int>?
    private let state = Mutex(SinkState())

    private struct SinkState {
        var keys: Set<String> = []
        var offset: Int = 0
        var partialLine: [UInt8] = []
    }

    public init(path: String, latencyMs: ClosedRange<Int>? = nil) throws {
        self.path = path
        self.latencyMs = latencyMs
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SinkError("cannot open the notification log \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
    }

    public func deliver(_ notification: Notification, idempotencyKey: String) async throws -> NotificationReceipt {
        if let latencyMs, latencyMs.upperBound > 0 {
            try await Task.sleep(for: .milliseconds(Int.random(in: latencyMs)))
        }
        return try state.withLock { state in
            try append(notification, key: idempotencyKey, state: &state)
        }
    }

    private func append(_ notification: Notification, key: String, state: inout SinkState) throws -> NotificationReceipt
    {
        let fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw SinkError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else {
            throw SinkError("cannot lock \(path): \(String(cString: strerror(errno)))")
        }
        defer { flock(fd, LOCK_UN) }
        // Catch up with lines other processes appended.
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = pread(fd, &buffer, buffer.count, off_t(state.offset))
            if count <= 0 { break }
            state.offset += count
            for byte in buffer[0..<count] {
                if byte == UInt8(ascii: "\n") {
                    if let line = try? JSONSerialization.jsonObject(with: Data(state.partialLine)) as? [String: Any],
                        let seen = line["key"] as? String
                    {
                        state.keys.insert(seen)
                    }
                    state.partialLine.removeAll(keepingCapacity: true)
                } else {
                    state.partialLine.append(byte)
                }
            }
        }
        let now = Timestamp.now().iso8601
        if state.keys.contains(key) {
            return NotificationReceipt(key: key, delivered: false, at: now)
        }
        var line: [String: JSONValue] = [
            "key": .string(key), "incident": .string(notification.incident), "service": .string(notification.service),
            "kind": .string(notification.kind.rawValue), "level": .int(Int64(notification.level)),
            "responder": notification.responder.map(JSONValue.string) ?? .null, "at": .string(now),
        ]
        line["responder"] = notification.responder.map(JSONValue.string) ?? .null
        let bytes = Array((JSONValue.object(line).jsonText + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw SinkError("writing to \(path) failed: \(String(cString: strerror(errno)))")
        }
        fsync(fd)
        state.offset += bytes.count
        state.keys.insert(key)
        return NotificationReceipt(key: key, delivered: true, at: now)
    }
}

/// The notification log could not be written.
public struct SinkError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
