import Foundation
import Incidents
import OrchestratorProtocol
import Testing

@Suite("Notification sink")
struct NotificationSinkTests {
    private func temporaryLog() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sink-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("notifications.jsonl").path
    }

    private func lines(_ path: String) throws -> [[String: JSONValue]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard case .object(let members) = try JSONValue(jsonText: String(line)) else {
                Issue.record("not an object: \(line)")
                return [:]
            }
            return members
        }
    }

    @Test("concurrent deliveries through two sinks on one file write each key once, every line whole")
    func concurrentDeliveriesWriteEachKeyOnce() async throws {
        let path = try temporaryLog()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        // Two sinks stand for two worker processes: each has its own lock holder and catch-up state.
        let sinks = [try FileNotificationSink(path: path), try FileNotificationSink(path: path)]
        let keys = (0..<60).map { "incident-\($0 % 20)/run/\($0)" }
        let receipts = try await withThrowingTaskGroup(of: NotificationReceipt.self) { group in
            // Every key three times, through both sinks, all at once.
            for round in 0..<3 {
                for (index, key) in keys.enumerated() {
                    let sink = sinks[(index + round) % 2]
                    group.addTask {
                        try await sink.deliver(
                            Notification(
                                incident: "incident-\(index % 20)", service: "svc-\(index % 20)", kind: .opened,
                                level: 0, responder: nil),
                            idempotencyKey: key)
                    }
                }
            }
            var all: [NotificationReceipt] = []
            for try await receipt in group { all.append(receipt) }
            return all
        }
        #expect(receipts.count == 180)
        let delivered = receipts.filter(\.delivered).map(\.key)
        #expect(delivered.count == keys.count)
        #expect(Set(delivered) == Set(keys))
        let written = try lines(path)
        #expect(written.count == keys.count)
        let writtenKeys = written.compactMap { line -> String? in
            if case .string(let key)? = line["key"] { return key }
            return nil
        }
        #expect(Set(writtenKeys) == Set(keys))
        #expect(writtenKeys.count == Set(writtenKeys).count)
    }

    @Test("a new sink on an existing file does not deliver keys already there")
    func restartedSinkSkipsKeysOnFile() async throws {
        let path = try temporaryLog()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let notification = Notification(
            incident: "incident-a", service: "a", kind: .acked, level: 0, responder: "alice")
        let first = try await FileNotificationSink(path: path).deliver(notification, idempotencyKey: "k1")
        #expect(first.delivered)
        // A worker restarted after a kill: its new sink must learn the key from the file.
        let again = try await FileNotificationSink(path: path).deliver(notification, idempotencyKey: "k1")
        #expect(!again.delivered)
        let other = try await FileNotificationSink(path: path).deliver(notification, idempotencyKey: "k2")
        #expect(other.delivered)
        let written = try lines(path)
        #expect(written.count == 2)
        #expect(written.last?["responder"] == .string("alice"))
    }

    @Test("a sink learns every key of a file larger than its read buffer, lines cut across reads included")
    func catchUpAcrossReads() async throws {
        let path = try temporaryLog()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        // About 200 KiB of lines written by another process: reads of 64 KiB cut lines in the middle.
        let other = try FileNotificationSink(path: path)
        let keys = (0..<1_200).map { "incident-\($0)/run-\(String(repeating: "x", count: $0 % 97))/\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, key) in keys.enumerated() {
                group.addTask {
                    _ = try await other.deliver(
                        Notification(
                            incident: "incident-\(index)", service: "svc", kind: .escalated, level: index % 4,
                            responder: index.isMultiple(of: 3) ? nil : "r\"ü\""),
                        idempotencyKey: key)
                }
            }
            try await group.waitForAll()
        }
        let sink = try FileNotificationSink(path: path)
        for key in keys {
            let receipt = try await sink.deliver(
                Notification(incident: "i", service: "s", kind: .opened, level: 0, responder: nil), idempotencyKey: key)
            #expect(!receipt.delivered, "\(key) is already in the file")
        }
        #expect(try lines(path).count == keys.count)
    }

    @Test("a line is the notification's canonical JSON object, responder null when there is none")
    func lineFormat() throws {
        for responder in [nil, "alice", "a \"quoted\" ü\n"] as [String?] {
            let notification = Notification(
                incident: "incident-payment-api", service: "payment-api", kind: .acked, level: 2, responder: responder)
            let expected: [String: JSONValue] = [
                "key": "k/1", "incident": "incident-payment-api", "service": "payment-api", "kind": "acked", "level": 2,
                "responder": responder.map(JSONValue.string) ?? .null, "at": "2026-11-22T10:15:30.125Z",
            ]
            #expect(
                FileNotificationSink.line(notification, key: "k/1", at: "2026-11-22T10:15:30.125Z")
                    == (try MessageCodec.encodeBytes(JSONValue.object(expected))))
        }
    }

    @Test("a line's key is read in place when the line has the sink's form, else by parsing it; broken lines have none")
    func keyOfLine() throws {
        func key(_ text: String) -> String? {
            Array(text.utf8).withUnsafeBytes { FileNotificationSink.key(ofLine: $0) }
        }
        func parsed(_ text: String) -> String? {
            guard case .object(let members)? = try? JSONValue(jsonText: text) else { return nil }
            return members["key"]?.stringValue
        }
        var lines: [String] = []
        for responder in [nil, "alice", "a \"quoted\" ü\n"] as [String?] {
            for key in ["incident-payment-api/01a2/3", "k \"q\" \\ é", "", "key"] {
                let notification = Notification(
                    incident: "incident-\"pay\"", service: "payment-api", kind: .escalated, level: -12,
                    responder: responder)
                lines.append(
                    String(
                        decoding: FileNotificationSink.line(notification, key: key, at: "2026-11-22T10:15:30.125Z"),
                        as: UTF8.self))
            }
        }
        lines += [
            #"{"key":"first","level":1}"#, #"{"a":[1,{"key":"nested"}],"key":"outer"}"#, #"{"b":true,"key":"x"}"#,
            #"{"key":"x","key":"y"}"#, #"{"level":1.5,"key":"z"}"#, #" {"key":"spaced"} "#,
        ]
        for line in lines {
            #expect(key(line) == parsed(line), "\(line)")
            #expect(key(line) != nil, "\(line)")
        }
        // A line cut by a crash, with the next line appended to it, and other broken lines: no key.
        let whole = lines[1]
        for broken in [
            String(whole.prefix(40)) + whole, String(whole.dropLast()), whole + "}", "{\"key\":\"x\"", "{\"key\":x}",
            "{\"key\":\"tab\tin\"}", "{\"key\":-}", "{\"key\":nul}", "{\"key\":\"x\",\"level\":01}", "", "{}",
            "[\"key\"]", "{\"level\":1}",
        ] {
            #expect(key(broken) == nil, "\(broken)")
            #expect(parsed(broken) == nil, "\(broken)")
        }
    }
}
