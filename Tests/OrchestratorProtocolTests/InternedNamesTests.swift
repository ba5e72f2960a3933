import Foundation
import Testing

@testable import OrchestratorProtocol

@Suite("Interned protocol names")
struct InternedNamesTests {
    /// Member names, enum values and constants of 16 bytes or more in `Protocol/schemas`.
    static func longSchemaNames() throws -> Set<String> {
        let directory = Vectors.directory.deletingLastPathComponent().appendingPathComponent("schemas")
        var names: Set<String> = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                for (key, member) in object {
                    if key == "properties", let properties = member as? [String: Any] {
                        names.formUnion(properties.keys)
                    }
                    if key == "enum", let values = member as? [Any] {
                        names.formUnion(values.compactMap { $0 as? String })
                    }
                    if key == "const", let value = member as? String { names.insert(value) }
                    walk(member)
                }
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
        #expect(files.count >= 5)
        for file in files {
            let data = try Data(contentsOf: directory.appendingPathComponent(file))
            walk(try JSONSerialization.jsonObject(with: data))
        }
        return names.filter { $0.utf8.count > 15 }
    }

    @Test("every long name of the schemas is interned")
    func everyLongNameIsInterned() throws {
        let missing = try Self.longSchemaNames().subtracting(InternedNames.names)
        #expect(missing.isEmpty, "add to InternedNames.names: \(missing.sorted())")
    }

    @Test("parsing gives the interned name for a long name, and an equal string for any other")
    func parsingUsesInternedNames() throws {
        let text =
            #"{"workflowTaskCompletedEventId":"WorkflowTaskScheduled","workflowTaskCompletedEventIX":"WorkflowTaskScheduleD","short":"x"}"#
        var deepest = 0
        let node = try MessageCodec.parse(Array(text.utf8), deepest: &deepest)
        guard case .object(let members) = node else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["workflowTaskCompletedEventId", "workflowTaskCompletedEventIX", "short"])
        guard case .string(let interned) = members[0].value, case .string(let other) = members[1].value else {
            Issue.record("not strings")
            return
        }
        #expect(interned == "WorkflowTaskScheduled")
        #expect(other == "WorkflowTaskScheduleD")
        #expect(InternedNames.name(bytes: "WorkflowTaskScheduled") == "WorkflowTaskScheduled")
        #expect(InternedNames.name(bytes: "WorkflowTaskScheduleD") == nil)
        #expect(InternedNames.name(bytes: "short") == nil)
    }
}

extension InternedNames {
    static func name(bytes text: String) -> String? {
        Array(text.utf8).withUnsafeBufferPointer { name($0) }
    }
}
