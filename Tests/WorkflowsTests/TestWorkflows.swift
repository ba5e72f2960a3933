import Foundation
import OrchestratorProtocol
import Synchronization
import Workflows

/// Sleeps twice, then returns how many times it slept.
final class SleepyWorkflow: Workflow {
    static let name = "Sleepy"
    var naps = 0
    init(input: Int64) { napMs = input }
    let napMs: Int64
    func run(context: WorkflowContext) async throws -> Int {
        try await context.sleep(for: .milliseconds(napMs))
        naps += 1
        try await context.sleep(for: .milliseconds(napMs))
        naps += 1
        return naps
    }
}

/// Waits for a "go" signal for at most `input` ms; returns whether it came.
final class WaitForGoWorkflow: Workflow {
    static let name = "WaitForGo"
    static let go = Signal<NoArguments>("go")
    static let seen = Query<NoArguments, Bool>("seen")
    var received = false
    let timeoutMs: Int64
    init(input: Int64) { timeoutMs = input }
    static func configure(_ handlers: inout WorkflowHandlers<WaitForGoWorkflow>) {
        handlers.signal(go) { workflow, _ in workflow.received = true }
        handlers.query(seen) { workflow, _ in workflow.received }
    }
    func run(context: WorkflowContext) async throws -> Bool {
        try await context.condition(timeout: .milliseconds(timeoutMs)) { self.received }
    }
}

/// An activity that fails until its third attempt.
enum Flaky: ActivityDefinition {
    typealias Input = String
    typealias Output = String
    static let name = "Flaky"
}

enum Echo: ActivityDefinition {
    typealias Input = String
    typealias Output = String
    static let name = "Echo"
}

/// Answers with the metadata of its context's logger.
enum LoggerMetadata: ActivityDefinition {
    typealias Input = String
    typealias Output = [String: String]
    static let name = "LoggerMetadata"
}

/// Runs LoggerMetadata once and returns what it answered.
final class LoggerMetadataWorkflow: Workflow {
    static let name = "LoggerMetadataWorkflow"
    init(input: NoArguments) {}
    func run(context: WorkflowContext) async throws -> [String: String] {
        try await context.execute(LoggerMetadata.self, "", options: ActivityOptions(startToCloseTimeout: .seconds(5)))
    }
}

/// Calls Flaky with a fast retry policy.
final class RetryingWorkflow: Workflow {
    static let name = "Retrying"
    init(input: Int32) { maximumAttempts = input }
    let maximumAttempts: Int32
    func run(context: WorkflowContext) async throws -> String {
        do {
            return try await context.execute(
                Flaky.self, "hello",
                options: ActivityOptions(
                    startToCloseTimeout: .seconds(5),
                    retryPolicy: RetryPolicy(
                        initialIntervalMs: 50, backoffCoefficient: 1, maximumAttempts: maximumAttempts)))
        } catch let failure as ActivityFailure {
            return "gave up: \(failure.retryState?.rawValue ?? "?") after \(failure.failure?.message ?? "")"
        }
    }
}

/// Sleeps for a long time; a cancel request ends it.
final class CancellableWorkflow: Workflow {
    static let name = "Cancellable"
    init(input: NoArguments) {}
    func run(context: WorkflowContext) async throws -> String {
        try await context.sleep(for: .seconds(3600))
        return "woke up"
    }
}

/// Counts up by continuing as new until `input` reaches 3.
final class CounterWorkflow: Workflow {
    static let name = "Counter"
    let count: Int
    init(input: Int) { count = input }
    func run(context: WorkflowContext) async throws -> Int {
        if count < 3 { try context.continueAsNew(input: count + 1) }
        return count
    }
}

/// The timer of the Versioned workflows: long enough that a test can stop a worker between the
/// run's first task and the timer's firing even on a loaded machine (at 50 ms, CI once saw the
/// first worker take the task after the timer before it stopped, and the live non-determinism
/// test never reached the broken worker).
let versionedTimer = Duration.milliseconds(1_000)

/// Version 1: a timer, then an activity.
final class VersionedV1: Workflow {
    static let name = "Versioned"
    init(input: NoArguments) {}
    func run(context: WorkflowContext) async throws -> String {
        try await context.sleep(for: versionedTimer)
        return try await context.execute(Echo.self, "v1", options: ActivityOptions(startToCloseTimeout: .seconds(5)))
    }
}

/// Version 2: an extra activity first, behind a patch, so runs of version 1 still replay.
final class VersionedV2: Workflow {
    static let name = "Versioned"
    init(input: NoArguments) {}
    func run(context: WorkflowContext) async throws -> String {
        var prefix = ""
        if context.patched("greet-first") {
            prefix = try await context.execute(
                Echo.self, "hi ", options: ActivityOptions(startToCloseTimeout: .seconds(5)))
        }
        try await context.sleep(for: versionedTimer)
        return prefix
            + (try await context.execute(Echo.self, "v2", options: ActivityOptions(startToCloseTimeout: .seconds(5))))
    }
}

/// Version 1 changed without a patch: the activity comes before the timer.
final class VersionedBroken: Workflow {
    static let name = "Versioned"
    init(input: NoArguments) {}
    func run(context: WorkflowContext) async throws -> String {
        let value = try await context.execute(
            Echo.self, "v1", options: ActivityOptions(startToCloseTimeout: .seconds(5)))
        try await context.sleep(for: versionedTimer)
        return value
    }
}

/// Uses the deterministic context helpers and reports what it saw.
final class DeterministicWorkflow: Workflow {
    static let name = "Deterministic"
    static let seen = Query<NoArguments, [String]>("seen")
    var values: [String] = []
    init(input: NoArguments) {}
    static func configure(_ handlers: inout WorkflowHandlers<DeterministicWorkflow>) {
        handlers.query(seen) { workflow, _ in workflow.values }
    }
    func run(context: WorkflowContext) async throws -> [String] {
        values.append(context.uuid().uuidString)
        values.append(String(context.random(in: 1...1_000_000)))
        values.append(context.currentTime.iso8601)
        try await context.sleep(for: .milliseconds(20))
        values.append(context.currentTime.iso8601)
        return values
    }
}

/// Escapes the executor with Task.sleep: the runtime must refuse it.
final class EscapingWorkflow: Workflow {
    static let name = "Escaping"
    init(input: NoArguments) {}
    func run(context: WorkflowContext) async throws -> String {
        try await Task.sleep(for: .milliseconds(10))
        return "should not get here"
    }
}

/// Runs activities in parallel with async let and a task group.
final class ParallelWorkflow: Workflow {
    static let name = "Parallel"
    init(input: NoArguments) {}
    func run(context: WorkflowContext) async throws -> [String] {
        let options = ActivityOptions(startToCloseTimeout: .seconds(5))
        async let a = context.execute(Echo.self, "a", options: options)
        async let b = context.execute(Echo.self, "b", options: options)
        var results = try await [a, b]
        try await withThrowingTaskGroup(of: String.self) { group in
            for name in ["c", "d", "e"] {
                group.addTask { try await context.execute(Echo.self, name, options: options) }
            }
            for try await value in group { results.append(value) }
        }
        return results
    }
}

/// Keeps the numbers signaled to it, in order, and echoes each through an activity (so activity
/// results reach the server while signals and queries do); returns them on "done".
final class TallyWorkflow: Workflow {
    static let name = "Tally"
    static let add = Signal<Int>("add")
    static let done = Signal<NoArguments>("done")
    static let tally = Query<NoArguments, [Int]>("tally")
    var values: [Int] = []
    var finished = false
    init(input: NoArguments) {}
    static func configure(_ handlers: inout WorkflowHandlers<TallyWorkflow>) {
        handlers.signal(add) { workflow, value in workflow.values.append(value) }
        handlers.signal(done) { workflow, _ in workflow.finished = true }
        handlers.query(tally) { workflow, _ in workflow.values }
    }
    func run(context: WorkflowContext) async throws -> [Int] {
        var echoed = 0
        while !finished || echoed < values.count {
            try await context.condition { self.values.count > echoed || self.finished }
            while echoed < values.count {
                echoed += 1
                _ = try await context.execute(
                    Echo.self, "\(values[echoed - 1])", options: ActivityOptions(startToCloseTimeout: .seconds(5)))
            }
        }
        return values
    }
}

/// Counts attempts of Flaky per key, shared by the test and the activity implementation.
final class AttemptCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func next(_ key: String) -> Int {
        counts.withLock { counts in
            counts[key, default: 0] += 1
            return counts[key, default: 0]
        }
    }
}
