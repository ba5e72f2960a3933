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
/// Deliveries are committed in groups, like a database's group commit: whatever arrives while one
/// group is being written waits for the next. For each group one thread takes an exclusive `flock` on
/// the file, reads what other processes appended since this one last looked, drops the keys already
/// there, appends the rest in one write and fsyncs once; only then does any delivery of the group
/// return. A key is never written twice, and no delivery returns before its line is on disk.
public final class FileNotificationSink: NotificationSink, Sendable {
    public let path: String
    /// Simulated latency of a real notification service (fault-injection tests): each delivery
    /// waits a random time in this range, in milliseconds, before it is applied.
    public let latencyMs: ClosedRange<Int>?
    private let state = Mutex(SinkState())
    /// Where groups are written: blocking file calls stay off Swift's cooperative threads.
    private let queue = DispatchQueue(label: "incident-orchestrator.notification-sink")

    private struct Delivery {
        var notification: Notification
        var key: String
        var continuation: CheckedContinuation<NotificationReceipt, any Error>
    }

    private struct SinkState {
        var pending: [Delivery] = []
        var writing = false
    }

    /// What the writing thread alone touches.
    private final class FileState: @unchecked Sendable {
        var keys: Set<String> = []
        var offset: Int = 0
        var partialLine: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var fd: Int32 = -1
    }
    private let file = FileState()

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

    deinit {
        if file.fd >= 0 { close(file.fd) }
    }

    public func deliver(_ notification: Notification, idempotencyKey: String) async throws -> NotificationReceipt {
        if let latencyMs, latencyMs.upperBound > 0 {
            try await Task.sleep(for: .milliseconds(Int.random(in: latencyMs)))
        }
        return try await withCheckedThrowingContinuation { continuation in
            let lead = state.withLock { state in
                state.pending.append(
                    Delivery(notification: notification, key: idempotencyKey, continuation: continuation))
                if state.writing { return false }
                state.writing = true
                return true
            }
            if lead { queue.async { self.writeGroups() } }
        }
    }

    /// Writes groups until none is waiting.
    private func writeGroups() {
        while true {
            let group = state.withLock { state -> [Delivery] in
                let group = state.pending
                state.pending.removeAll(keepingCapacity: true)
                if group.isEmpty { state.writing = false }
                return group
            }
            if group.isEmpty { return }
            do {
                let receipts = try append(group)
                for (delivery, receipt) in zip(group, receipts) { delivery.continuation.resume(returning: receipt) }
            } catch {
                for delivery in group { delivery.continuation.resume(throwing: error) }
            }
        }
    }

    private func append(_ group: [Delivery]) throws -> [NotificationReceipt] {
        if file.fd < 0 {
            file.fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)
            guard file.fd >= 0 else { throw SinkError("cannot open \(path): \(String(cString: strerror(errno)))") }
        }
        let fd = file.fd
        guard flock(fd, LOCK_EX) == 0 else {
            throw SinkError("cannot lock \(path): \(String(cString: strerror(errno)))")
        }
        defer { flock(fd, LOCK_UN) }
        catchUp(fd)
        let now = Timestamp.now().iso8601
        var receipts: [NotificationReceipt] = []
        var bytes: [UInt8] = []
        var added: Set<String> = []
        for delivery in group {
            if file.keys.contains(delivery.key) || added.contains(delivery.key) {
                receipts.append(NotificationReceipt(key: delivery.key, delivered: false, at: now))
                continue
            }
            bytes += Self.line(delivery.notification, key: delivery.key, at: now)
            bytes.append(UInt8(ascii: "\n"))
            added.insert(delivery.key)
            receipts.append(NotificationReceipt(key: delivery.key, delivered: true, at: now))
        }
        guard !bytes.isEmpty else { return receipts }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw SinkError("writing to \(path) failed: \(String(cString: strerror(errno)))")
        }
        guard fsync(fd) == 0 else {
            throw SinkError("syncing \(path) failed: \(String(cString: strerror(errno)))")
        }
        file.offset += bytes.count
        file.keys.formUnion(added)
        return receipts
    }

    /// A notification's line: its canonical JSON object, `responder` written as null when there is none.
    public static func line(_ notification: Notification, key: String, at: String) -> [UInt8] {
        var object = CanonicalObjectWriter()
        object.string("at", at)
        object.string("incident", notification.incident)
        object.string("key", key)
        object.string("kind", notification.kind.rawValue)
        object.int("level", Int64(notification.level))
        if let responder = notification.responder {
            object.string("responder", responder)
        } else {
            object.raw("responder", Array("null".utf8))
        }
        object.string("service", notification.service)
        return object.finish()
    }

    /// Reads the lines other processes appended since this one last looked, remembering their keys.
    private func catchUp(_ fd: Int32) {
        let file = self.file
        // A line cut by the last read waits here; whole lines are read from the buffer in place.
        var partial = file.partialLine
        file.partialLine = []
        while true {
            let count = file.buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(file.offset)) }
            if count <= 0 { break }
            file.offset += count
            file.buffer.withUnsafeBytes { raw in
                let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<count])
                var start = 0
                while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    let line = UnsafeRawBufferPointer(rebasing: bytes[start..<newline])
                    let key: String?
                    if partial.isEmpty {
                        key = Self.key(ofLine: line)
                    } else {
                        partial.append(contentsOf: line)
                        key = partial.withUnsafeBytes { Self.key(ofLine: $0) }
                        partial.removeAll(keepingCapacity: true)
                    }
                    if let key { file.keys.insert(key) }
                    start = newline + 1
                }
                partial.append(contentsOf: bytes[start...])
            }
        }
        file.partialLine = partial
    }

    /// The `key` of a line, or nil if the line is not a JSON object with a string `key`.
    ///
    /// Every process reads every line the others append, so a line of the form this sink writes
    /// (one flat object of strings, integers and nulls) is read in place, not parsed into a tree:
    /// its structure is checked to the closing brace (a line cut by a crash fails), the key's UTF-8
    /// too, but escapes inside the other strings are skipped, not validated. Any other form, and a
    /// key with an escape in it, is parsed whole.
    public static func key(ofLine line: UnsafeRawBufferPointer) -> String? {
        if let key = keyOfFlatLine(line) { return key }
        return (try? MessageCodec.decode(KeyOnly.self, from: line))?.key
    }

    private static func keyOfFlatLine(_ line: UnsafeRawBufferPointer) -> String? {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var index = 0
        /// Skips a string whose opening quote is at `index`; returns the range of its text.
        func string() -> Range<Int>? {
            guard index < line.count, line[index] == quote else { return nil }
            let start = index + 1
            index = start
            while index < line.count {
                switch line[index] {
                case quote:
                    index += 1
                    return start..<(index - 1)
                case backslash: index += 2
                case 0..<0x20: return nil
                default: index += 1
                }
            }
            return nil
        }
        func next(_ byte: Unicode.Scalar) -> Bool {
            guard index < line.count, line[index] == UInt8(ascii: byte) else { return false }
            index += 1
            return true
        }
        var key: Range<Int>?
        var sawKey = false  // Of repeated members the first counts, as everywhere in the protocol.
        guard next("{") else { return nil }
        repeat {
            guard let name = string(), next(":") else { return nil }
            let value: Range<Int>?
            if index < line.count, line[index] == quote {
                guard let text = string() else { return nil }
                value = text
            } else if line[index...].starts(with: "null".utf8) {
                index += 4
                value = nil
            } else {
                // An integer.
                _ = next("-")
                let digits = index
                while index < line.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(line[index]) { index += 1 }
                guard index > digits, index == digits + 1 || line[digits] != UInt8(ascii: "0") else { return nil }
                value = nil
            }
            if !sawKey, line[name].elementsEqual("key".utf8) {
                sawKey = true
                key = value
            }
        } while next(",")
        guard next("}"), index == line.count, let key, !line[key].contains(backslash) else { return nil }
        return String(validating: UnsafeRawBufferPointer(rebasing: line[key]), as: UTF8.self)
    }

    private struct KeyOnly: Decodable {
        var key: String
    }
}

/// The notification log could not be written.
public struct SinkError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
