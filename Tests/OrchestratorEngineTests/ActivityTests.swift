import Foundation
import OrchestratorClient
import OrchestratorProtocol
import Testing

@Suite("Activities", .serialized)
struct ActivityTests {
    /// Starts a run and completes its first task with `commands`; returns the worker.
    func scheduled(_ h: Harness, _ workflowId: String, _ commands: [Command]) async throws -> OrchestratorClient {
        try await h.start(workflowId)
        let worker = try await h.worker()
        try await h.complete(worker, try #require(try await h.poll(worker)), commands)
        return worker
    }

    @Test("a completed activity reaches the workflow with its result, Started and Completed together")
    func completion() async throws {
        try await Harness.with { h in
            let worker = try await scheduled(h, "wf-a1", [.activity("1", input: ["kind": "opened"])])
            let activity = try #require(try await h.pollActivity(worker))
            #expect(activity.activityType == "Notify")
            #expect(activity.attempt == 1)
            #expect(activity.input == ["kind": "opened"])
            #expect(activity.idempotencyKey == "wf-a1/\(activity.runId)/1")
            _ = try await worker.send(CompleteActivityTaskRequest(taskToken: activity.taskToken, result: "sent"))
            let task = try #require(try await h.poll(worker))
            let types = task.events.map(\.eventType)
            #expect(types.contains(.activityTaskStarted))
            #expect(types.contains(.activityTaskCompleted))
            let completed = task.events.compactMap { e -> ActivityTaskCompletedAttributes? in
                if case .activityTaskCompleted(let a) = e.attributes { return a }
                return nil
            }.first
            let startedId = task.events.first { $0.eventType == .activityTaskStarted }?.eventId
            #expect(completed?.result == "sent")
            #expect(completed?.startedEventId == startedId)
        }
    }

    /// A ScheduleActivityTask command that asks for eager execution.
    func eager(_ id: String, taskQueue: String? = nil) -> Command {
        .scheduleActivityTask(
            ScheduleActivityTaskCommand(
                activityId: id, activityType: "Notify", taskQueue: taskQueue, input: ["n": .string(id)],
                startToCloseTimeoutMs: 10_000, requestEagerExecution: true))
    }

    @Test("eager execution: the completion's answer carries the activity, started for that connection; no poll sees it")
    func eagerExecution() async throws {
        try await Harness.with { h in
            try await h.start("wf-eager")
            let worker = try await h.worker()
            let first = try #require(try await h.poll(worker))
            // Another worker polls the queue: the eager activity must not go to it.
            let other = try await h.worker("other")
            async let otherPoll = h.pollActivity(other, timeoutMs: 800)
            let answer = try await worker.send(
                CompleteWorkflowTaskRequest(
                    taskToken: first.taskToken,
                    commands: [eager("1"), eager("2", taskQueue: "elsewhere"), .activity("3")]))
            // Only the one on the task's own queue and asked for eagerly comes back.
            let started = try #require(answer.activityTasks)
            #expect(started.map(\.activityId) == ["1"])
            #expect(started.first?.input == ["n": "1"])
            #expect(started.first?.attempt == 1)
            // The others go to polls as usual: 3 on this queue, 2 on its own.
            let polled = try #require(try await otherPoll)
            #expect(polled.activityId == "3")
            let elsewhere = try #require(try await h.pollActivity(other, queue: "elsewhere", timeoutMs: 1_000))
            #expect(elsewhere.activityId == "2")
            // The eager one is held like a polled one: completing it works, once.
            let token = try #require(started.first?.taskToken)
            _ = try await worker.send(CompleteActivityTaskRequest(taskToken: token, result: "sent"))
            await expectError(.notFound) {
                _ = try await worker.send(CompleteActivityTaskRequest(taskToken: token, result: "again"))
            }
            let next = try #require(try await h.poll(worker))
            let completed = next.events.compactMap { event -> ActivityTaskCompletedAttributes? in
                if case .activityTaskCompleted(let a) = event.attributes { return a }
                return nil
            }
            #expect(completed.map(\.result) == ["sent"])
            #expect(try await h.pollActivity(other, timeoutMs: 200) == nil)
        }
    }

    @Test("an eager activity is held by its connection: when it closes, the attempt is retried at once elsewhere")
    func eagerActivityIsHeld() async throws {
        try await Harness.with { h in
            try await h.start("wf-eager-closed")
            let a = try await h.worker("worker-a")
            let first = try #require(try await h.poll(a))
            let answer = try await a.send(
                CompleteWorkflowTaskRequest(taskToken: first.taskToken, commands: [eager("1")]))
            let started = try #require(answer.activityTasks?.first)
            let b = try await h.worker("worker-b")
            async let retried = h.pollActivity(b, timeoutMs: 2_000)
            try await Task.sleep(for: .milliseconds(50))
            await a.close()
            let attempt = try #require(try await retried)
            #expect(attempt.activityId == started.activityId)
            #expect(attempt.attempt == 2)
        }
    }

    @Test("retries follow the policy: delays grow by the backoff, attempts stop at the maximum")
    func retryIntervals() async throws {
        try await Harness.with { h in
            let policy = RetryPolicy(initialIntervalMs: 200, backoffCoefficient: 2, maximumAttempts: 3)
            let worker = try await scheduled(h, "wf-retry", [.activity("1", retry: policy)])
            var failedAt: ContinuousClock.Instant?
            var delays: [Int64] = []
            var attempts: [Int32] = []
            for _ in 0..<3 {
                let activity = try #require(try await h.pollActivity(worker))
                if let failedAt { delays.append(milliseconds(since: failedAt)) }
                attempts.append(activity.attempt)
                failedAt = .now
                _ = try await worker.send(
                    FailActivityTaskRequest(
                        taskToken: activity.taskToken,
                        failure: Failure(message: "PagerDuty answered 503", type: "HTTPError")))
            }
            #expect(attempts == [1, 2, 3])
            #expect(delays.count == 2)
            // Never earlier than the policy says; later only by scheduling noise (generous bounds for loaded machines).
            #expect(delays[0] >= 190 && delays[0] < 1_500, "first retry after \(delays[0]) ms, policy says 200")
            #expect(delays[1] >= 390 && delays[1] < 2_000, "second retry after \(delays[1]) ms, policy says 400")
            let task = try #require(try await h.poll(worker))
            let failed = task.events.compactMap { e -> ActivityTaskFailedAttributes? in
                if case .activityTaskFailed(let a) = e.attributes { return a }
                return nil
            }
            #expect(failed.count == 1)
            #expect(failed.first?.retryState == .maximumAttemptsReached)
            #expect(failed.first?.failure.message == "PagerDuty answered 503")
            let started = task.events.compactMap { e -> ActivityTaskStartedAttributes? in
                if case .activityTaskStarted(let a) = e.attributes { return a }
                return nil
            }
            #expect(started.map(\.attempt) == [3], "only the last attempt is written to history")
        }
    }

    @Test("a failure of a non-retryable type is final at once")
    func nonRetryable() async throws {
        try await Harness.with { h in
            let policy = RetryPolicy(initialIntervalMs: 100, nonRetryableErrorTypes: ["InvalidInput"])
            let worker = try await scheduled(h, "wf-nr", [.activity("1", retry: policy)])
            let activity = try #require(try await h.pollActivity(worker))
            _ = try await worker.send(
                FailActivityTaskRequest(
                    taskToken: activity.taskToken, failure: Failure(message: "bad", type: "InvalidInput")))
            let task = try #require(try await h.poll(worker))
            let failed = task.events.compactMap { e -> ActivityTaskFailedAttributes? in
                if case .activityTaskFailed(let a) = e.attributes { return a }
                return nil
            }
            #expect(failed.first?.retryState == .nonRetryableFailure)
        }
    }

    @Test("an attempt whose worker connection closes is retried at once elsewhere")
    func connectionCloseRetriesActivity() async throws {
        try await Harness.with { h in
            let worker = try await scheduled(h, "wf-alease", [.activity("1")])
            let a = try await h.worker("activity-worker-a")
            let b = try await h.worker("activity-worker-b")
            let first = try #require(try await h.pollActivity(a))
            async let second = h.pollActivity(b)
            try await Task.sleep(for: .milliseconds(50))
            let closed = ContinuousClock.now
            await a.close()
            let retried = try #require(try await second)
            #expect(milliseconds(since: closed) < 1_000)
            #expect(retried.attempt == 2)
            #expect(retried.activityId == first.activityId)
            #expect(retried.idempotencyKey == first.idempotencyKey)
            _ = try await b.send(CompleteActivityTaskRequest(taskToken: retried.taskToken, result: nil))
            #expect(try await h.poll(worker) != nil)
        }
    }

    @Test("an attempt that exceeds start-to-close is retried; a late answer is refused")
    func startToCloseTimeout() async throws {
        try await Harness.with { h in
            let policy = RetryPolicy(initialIntervalMs: 50, maximumAttempts: 2)
            let worker = try await scheduled(h, "wf-stc", [.activity("1", retry: policy, startToCloseMs: 200)])
            let first = try #require(try await h.pollActivity(worker))
            let second = try #require(try await h.pollActivity(worker, timeoutMs: 3_000))
            #expect(second.attempt == 2)
            await expectError(.notFound) {
                _ = try await worker.send(CompleteActivityTaskRequest(taskToken: first.taskToken, result: nil))
            }
            let task = try #require(try await h.poll(worker, timeoutMs: 3_000))
            let timedOut = task.events.compactMap { e -> ActivityTaskTimedOutAttributes? in
                if case .activityTaskTimedOut(let a) = e.attributes { return a }
                return nil
            }
            #expect(timedOut.first?.timeoutType == .startToClose)
            #expect(timedOut.first?.retryState == .maximumAttemptsReached)
        }
    }

    @Test("heartbeats keep an attempt alive; a missed heartbeat fails it")
    func heartbeatTimeout() async throws {
        try await Harness.with { h in
            let command = Command.scheduleActivityTask(
                ScheduleActivityTaskCommand(
                    activityId: "1", activityType: "Long", startToCloseTimeoutMs: 10_000, heartbeatTimeoutMs: 300,
                    retryPolicy: RetryPolicy(initialIntervalMs: 50, maximumAttempts: 2)))
            let worker = try await scheduled(h, "wf-hb", [command])
            let first = try #require(try await h.pollActivity(worker))
            for step in 0..<4 {
                try await Task.sleep(for: .milliseconds(150))
                let response = try await worker.send(
                    HeartbeatActivityTaskRequest(taskToken: first.taskToken, details: .int(Int64(step))))
                #expect(response.cancelRequested == false)
            }
            // Stop heartbeating: the attempt fails and attempt 2 starts with the last details.
            let second = try #require(try await h.pollActivity(worker, timeoutMs: 3_000))
            #expect(second.attempt == 2)
            #expect(second.heartbeatDetails == 3)
        }
    }

    @Test("canceling a started activity is seen in a heartbeat; canceling a waiting one is immediate")
    func cancellation() async throws {
        try await Harness.with { h in
            let worker = try await scheduled(h, "wf-cancel", [.activity("1"), .activity("2")])
            let running = try #require(try await h.pollActivity(worker))
            // The workflow asks to cancel both.
            try await h.signal("wf-cancel", "stop")
            let task = try #require(try await h.poll(worker))
            let scheduledIds = try await h.history("wf-cancel").filter { $0.eventType == .activityTaskScheduled }.map(
                \.eventId)
            try await h.complete(
                worker, task,
                scheduledIds.map { .requestCancelActivityTask(RequestCancelActivityTaskCommand(scheduledEventId: $0)) })
            let heartbeat = try await worker.send(HeartbeatActivityTaskRequest(taskToken: running.taskToken))
            #expect(heartbeat.cancelRequested)
            _ = try await worker.send(CancelActivityTaskRequest(taskToken: running.taskToken))
            let types = try await h.types("wf-cancel")
            #expect(types.filter { $0 == .activityTaskCancelRequested }.count == 2)
            #expect(types.filter { $0 == .activityTaskCanceled }.count == 2)
        }
    }
}
