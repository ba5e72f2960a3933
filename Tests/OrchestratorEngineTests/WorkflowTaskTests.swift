import Foundation
import OrchestratorClient
import OrchestratorProtocol
import Testing

@Suite("Workflow tasks", .serialized)
struct WorkflowTaskTests {
    @Test("a started workflow's first task carries the whole history")
    func firstTaskCarriesWholeHistory() async throws {
        try await Harness.with { h in
            let run = try await h.start("wf-1", input: ["service": "payment-api"])
            let worker = try await h.worker()
            let task = try #require(try await h.poll(worker))
            #expect(task.runId == run.runId)
            #expect(task.workflowType == "TestWorkflow")
            #expect(task.previousStartedEventId == 0)
            #expect(
                task.events.map(\.eventType) == [
                    .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted,
                ])
            #expect(task.events.map(\.eventId) == [1, 2, 3])
            guard case .workflowExecutionStarted(let started) = task.events[0].attributes else {
                Issue.record("first event is not WorkflowExecutionStarted")
                return
            }
            #expect(started.input == ["service": "payment-api"])
        }
    }

    @Test("a timer fires once, and its run gets exactly one TimerFired")
    func timerFiresOnce() async throws {
        try await Harness.with { h in
            try await h.start("wf-timer")
            let worker = try await h.worker()
            let first = try #require(try await h.poll(worker))
            let started = ContinuousClock.now
            try await h.complete(worker, first, [.timer("t1", 300)])
            let second = try #require(try await h.poll(worker))
            let elapsed = milliseconds(since: started)
            #expect(elapsed >= 290, "the timer fired after \(elapsed) ms, before its 300 ms")
            let fired = second.events.filter { $0.eventType == .timerFired }
            #expect(fired.count == 1)
            try await h.complete(worker, second)
            // Nothing more comes: a second firing would schedule another task.
            #expect(try await h.poll(worker, timeoutMs: 700) == nil)
            let types = try await h.types("wf-timer")
            #expect(types.filter { $0 == .timerFired }.count == 1)
            #expect(types.filter { $0 == .timerStarted }.count == 1)
        }
    }

    @Test("a signal that arrives while a task runs is delivered in the next task, after the completion")
    func signalDuringTaskIsBuffered() async throws {
        try await Harness.with { h in
            try await h.start("wf-signal")
            let worker = try await h.worker()
            let first = try #require(try await h.poll(worker))
            try await h.signal("wf-signal", "add-alert", ["alertID": "ALERT-001"])
            // While the task runs, the signal is not in history yet.
            #expect(try await h.types("wf-signal").contains(.workflowExecutionSignaled) == false)
            try await h.complete(worker, first)
            let second = try #require(try await h.poll(worker))
            let types = second.events.map(\.eventType)
            #expect(
                types == [
                    .workflowTaskCompleted, .workflowExecutionSignaled, .workflowTaskScheduled, .workflowTaskStarted,
                ])
            #expect(second.events.first?.eventId == 4)
            #expect(second.previousStartedEventId == 3)
            guard case .workflowExecutionSignaled(let signal) = second.events[1].attributes else {
                Issue.record("expected the signal")
                return
            }
            #expect(signal.signalName == "add-alert")
            #expect(signal.input == ["alertID": "ALERT-001"])
        }
    }

    @Test("a completion asked to return the next task answers with it when events arrived meanwhile")
    func completionReturnsNextTask() async throws {
        try await Harness.with { h in
            try await h.start("wf-return")
            let worker = try await h.worker()
            let first = try #require(try await h.poll(worker))
            // Another poller of the same worker waits: the returned task must not go to it (nor be
            // left in a queue for it to take later).
            async let otherPoll = h.poll(worker, timeoutMs: 800)
            try await h.signal("wf-return", "add-alert", ["alertID": "ALERT-001"])
            let answer = try await worker.send(
                CompleteWorkflowTaskRequest(taskToken: first.taskToken, commands: [], returnNewWorkflowTask: true))
            let second = try #require(answer.workflowTask)
            #expect(
                second.events.map(\.eventType) == [
                    .workflowTaskCompleted, .workflowExecutionSignaled, .workflowTaskScheduled, .workflowTaskStarted,
                ])
            #expect(second.previousStartedEventId == 3)
            #expect(try await otherPoll == nil)
            // The returned task is held like a polled one: completing it works, and nothing else is pending.
            let third = try await worker.send(
                CompleteWorkflowTaskRequest(taskToken: second.taskToken, commands: [], returnNewWorkflowTask: true))
            #expect(third.workflowTask == nil)
            #expect(try await h.poll(worker, timeoutMs: 300) == nil)
            let types = try await h.types("wf-return")
            #expect(types.filter { $0 == .workflowTaskCompleted }.count == 2)
            #expect(types.filter { $0 == .workflowTaskStarted }.count == 2)
        }
    }

    @Test("a completion asked to return a task answers, when its run has none, with the task a poll would get now")
    func completionReturnsWaitingTask() async throws {
        try await Harness.with { h in
            try await h.start("wf-first")
            let worker = try await h.worker()
            let first = try #require(try await h.poll(worker))
            // Another run's first task waits in the queue: no poller is waiting for it.
            let other = try await h.start("wf-other")
            let answer = try await worker.send(
                CompleteWorkflowTaskRequest(taskToken: first.taskToken, commands: [], returnNewWorkflowTask: true))
            let next = try #require(answer.workflowTask)
            #expect(next.runId == other.runId)
            #expect(
                next.events.map(\.eventType) == [
                    .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted,
                ])
            // It is held like a polled one; nothing is left for a poll.
            #expect(try await h.poll(worker, timeoutMs: 200) == nil)
            try await h.complete(worker, next)
            // Not asked: the waiting task stays for a poll.
            try await h.signal("wf-first", "add-alert", ["alertID": "ALERT-001"])
            let second = try #require(try await h.poll(worker))
            #expect(second.runId != other.runId)
            try await h.start("wf-third")
            let plain = try await worker.send(CompleteWorkflowTaskRequest(taskToken: second.taskToken, commands: []))
            #expect(plain.workflowTask == nil)
            #expect(try await h.poll(worker)?.workflowId == "wf-third")
        }
    }

    @Test("without the request, or when nothing arrived, a completion answers no task and a poll gets the next")
    func completionWithoutReturn() async throws {
        try await Harness.with { h in
            try await h.start("wf-noreturn")
            let worker = try await h.worker()
            let first = try #require(try await h.poll(worker))
            try await h.signal("wf-noreturn", "add-alert", ["alertID": "ALERT-001"])
            let answer = try await worker.send(CompleteWorkflowTaskRequest(taskToken: first.taskToken, commands: []))
            #expect(answer.workflowTask == nil)
            let second = try #require(try await h.poll(worker))
            #expect(second.events.contains { $0.eventType == .workflowExecutionSignaled })
            let last = try await worker.send(
                CompleteWorkflowTaskRequest(taskToken: second.taskToken, commands: [], returnNewWorkflowTask: true))
            #expect(last.workflowTask == nil)
        }
    }

    @Test("a task returned with a completion is held by that connection: when it closes, another worker gets it")
    func returnedTaskIsHeld() async throws {
        try await Harness.with { h in
            try await h.start("wf-return-closed")
            let a = try await h.worker("worker-a")
            let first = try #require(try await h.poll(a))
            try await h.signal("wf-return-closed", "add-alert", ["alertID": "ALERT-001"])
            let answer = try await a.send(
                CompleteWorkflowTaskRequest(taskToken: first.taskToken, commands: [], returnNewWorkflowTask: true))
            _ = try #require(answer.workflowTask)
            await a.close()
            let b = try await h.worker("worker-b")
            let task = try #require(try await h.poll(b, timeoutMs: 2_000))
            // Not sticky to B: the whole history, with the signal and A's task failed by its close.
            #expect(task.events.contains { $0.eventType == .workflowExecutionSignaled })
            let failures = task.events.compactMap { event -> WorkflowTaskFailedCause? in
                if case .workflowTaskFailed(let failed) = event.attributes { return failed.cause }
                return nil
            }
            #expect(failures == [.connectionClosed])
            try await h.complete(b, task)
        }
    }

    @Test("a signal to a run with no task running schedules one")
    func signalSchedulesTask() async throws {
        try await Harness.with { h in
            try await h.start("wf-s2")
            let worker = try await h.worker()
            try await h.complete(worker, try #require(try await h.poll(worker)))
            try await h.signal("wf-s2", "ack", ["responder": "alice"])
            let task = try #require(try await h.poll(worker))
            #expect(task.events.contains { $0.eventType == .workflowExecutionSignaled })
        }
    }

    @Test("the worker that completed a run's last task gets its next task, with only the new events")
    func stickyRouting() async throws {
        try await Harness.with { h in
            try await h.start("wf-sticky")
            let a = try await h.worker("worker-a")
            let b = try await h.worker("worker-b")
            try await h.complete(a, try #require(try await h.poll(a)))
            // B polls first and keeps polling; A polls a moment later. The task still goes to A.
            async let fromB = h.poll(b, timeoutMs: 800)
            try await Task.sleep(for: .milliseconds(100))
            try await h.signal("wf-sticky", "ping")
            let taskForA = try #require(try await h.poll(a))
            #expect(taskForA.events.first?.eventId == 4, "a sticky task starts after the previous task's events")
            #expect(try await fromB == nil)
            let describe = try await h.describe("wf-sticky")
            #expect(describe.stickyWorkerIdentity == "worker-a")
        }
    }

    @Test("a task the sticky worker does not poll for goes to another worker with the whole history")
    func stickyFallback() async throws {
        try await Harness.with(configure: { $0.engine.stickyScheduleToStartTimeoutMs = 200 }) { h in
            try await h.start("wf-fallback")
            let a = try await h.worker("worker-a")
            let b = try await h.worker("worker-b")
            try await h.complete(a, try #require(try await h.poll(a)))
            try await h.signal("wf-fallback", "ping")
            // A is connected but does not poll: after the sticky timeout B gets it, from event 1.
            let task = try #require(try await h.poll(b, timeoutMs: 3_000))
            #expect(task.events.first?.eventId == 1)
            #expect(task.previousStartedEventId == 3)
        }
    }

    @Test("closing a worker connection returns its workflow task to the queue at once")
    func connectionCloseReturnsTask() async throws {
        try await Harness.with { h in
            try await h.start("wf-lease")
            let a = try await h.worker("worker-a")
            let b = try await h.worker("worker-b")
            _ = try #require(try await h.poll(a))
            async let next = h.poll(b, timeoutMs: 5_000)
            try await Task.sleep(for: .milliseconds(50))
            let closed = ContinuousClock.now
            await a.close()
            let task = try #require(try await next)
            let elapsed = milliseconds(since: closed)
            #expect(elapsed < 1_000, "the task came back after \(elapsed) ms")
            #expect(task.events.first?.eventId == 1, "another worker gets the whole history")
            let failed = task.events.compactMap { event -> WorkflowTaskFailedAttributes? in
                if case .workflowTaskFailed(let a) = event.attributes { return a }
                return nil
            }
            #expect(failed.map(\.cause) == [.connectionClosed])
            #expect(failed.first?.identity == "worker-a")
        }
    }

    @Test("a task that is not completed in time times out and is retried")
    func workflowTaskTimeout() async throws {
        try await Harness.with { h in
            _ = try await h.client.send(
                StartWorkflowRequest(
                    workflowId: "wf-wtt", workflowType: "T", taskQueue: "q", workflowTaskTimeoutMs: 300))
            let worker = try await h.worker()
            let first = try #require(try await h.poll(worker))
            let second = try #require(try await h.poll(worker, timeoutMs: 3_000))
            #expect(second.attempt == 2)
            #expect(second.events.contains { $0.eventType == .workflowTaskTimedOut })
            await expectError(.notFound) { try await h.complete(worker, first) }
            try await h.complete(worker, second, [.complete()])
        }
    }

    @Test("closing while new events wait fails the task with UNHANDLED_COMMAND, and the workflow sees them")
    func unhandledCommand() async throws {
        try await Harness.with { h in
            try await h.start("wf-unhandled")
            let worker = try await h.worker()
            let task = try #require(try await h.poll(worker))
            try await h.signal("wf-unhandled", "late")
            try await h.complete(worker, task, [.complete("done")])
            let next = try #require(try await h.poll(worker))
            let types = next.events.map(\.eventType)
            #expect(types.contains(.workflowTaskFailed))
            #expect(types.contains(.workflowExecutionSignaled))
            #expect(try await h.describe("wf-unhandled").execution.status == .running)
            try await h.complete(worker, next, [.complete("done")])
            #expect(try await h.describe("wf-unhandled").execution.status == .completed)
        }
    }

    @Test("a bad command list changes nothing and the task is retried")
    func badCommandsChangeNothing() async throws {
        try await Harness.with { h in
            try await h.start("wf-bad")
            let worker = try await h.worker()
            let task = try #require(try await h.poll(worker))
            let error = await expectError(.invalidArgument) {
                try await h.complete(worker, task, [.timer("t", 1000), .timer("t", 2000)])
            }
            #expect(
                error?.message.contains("command 2 (StartTimer): timer t is already started") == true,
                "\(String(describing: error))")
            let types = try await h.types("wf-bad")
            #expect(!types.contains(.timerStarted), "no command of a rejected list is applied")
            #expect(types.last == .workflowTaskScheduled || types.contains(.workflowTaskFailed))
            let retry = try #require(try await h.poll(worker))
            #expect(retry.attempt == 2)
        }
    }

    @Test("a worker-reported failure is recorded and retried with a growing delay")
    func failWorkflowTaskRetries() async throws {
        try await Harness.with { h in
            try await h.start("wf-fail")
            let worker = try await h.worker()
            var attempts: [Int32] = []
            var times: [ContinuousClock.Instant] = []
            for _ in 0..<3 {
                let task = try #require(try await h.poll(worker, timeoutMs: 5_000))
                attempts.append(task.attempt)
                times.append(.now)
                _ = try await worker.send(
                    FailWorkflowTaskRequest(
                        taskToken: task.taskToken, cause: .nonDeterministicError,
                        failure: Failure(message: "history event 5 is TimerStarted, the code scheduled an activity")))
            }
            #expect(attempts == [1, 2, 3])
            let third = times[2] - times[1]
            #expect(third >= .milliseconds(900), "attempt 3 waits about a second, waited \(third)")
            let failures = try await h.history("wf-fail").filter { $0.eventType == .workflowTaskFailed }
            #expect(failures.count == 3)
        }
    }
}

@Suite("Leases and long histories", .serialized)
struct LeaseAndHistoryTests {
    @Test("a task completed by another connection is not failed when its first holder closes")
    func completedElsewhere() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            let a = try await h.worker("worker-a")
            let b = try await h.worker("worker-b")
            let task = try #require(try await h.poll(a))
            try await h.complete(b, task, [.timer("t", 60_000)])
            try await h.signal("wf", "next")
            let next = try #require(try await h.poll(b))
            await a.close()
            try await Task.sleep(for: .milliseconds(100))
            // B still holds its task: completing it works, and no CONNECTION_CLOSED failure was recorded.
            try await h.complete(b, next)
            #expect(!(try await h.types("wf").contains(.workflowTaskFailed)))
        }
    }

    @Test("a task of a long history carries at most 1 000 events; the rest is fetched in pages")
    func longHistoryTask() async throws {
        try await Harness.with { h in
            try await h.start("long")
            let first = try await h.worker("first")
            try await h.complete(first, try #require(try await h.poll(first)))
            await first.close()
            for index in 0..<1_200 { try await h.signal("long", "s", .int(Int64(index))) }
            let fresh = try await h.worker("fresh")
            let task = try #require(try await h.poll(fresh))
            #expect(task.events.count == 1_000)
            let missing = try #require(task.events.first?.eventId) - 1
            #expect(missing > 0)
            var fetched: [HistoryEvent] = []
            var after: Int64 = 0
            while after < missing {
                let page = try await fresh.send(
                    GetWorkflowHistoryRequest(workflowId: "long", afterEventId: after, maximumPageSize: 500))
                fetched += page.events.filter { $0.eventId <= missing }
                after = page.events.last?.eventId ?? missing
            }
            #expect((fetched + task.events).map(\.eventId) == Array(1...task.startedEventId))
        }
    }

    @Test("a schedule-to-close timeout before any attempt started records no ActivityTaskStarted")
    func deadlineWithoutStart() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            let worker = try await h.worker()
            try await h.complete(
                worker, try #require(try await h.poll(worker)),
                [
                    .scheduleActivityTask(
                        ScheduleActivityTaskCommand(
                            activityId: "1", activityType: "Nobody", taskQueue: "no-workers",
                            scheduleToCloseTimeoutMs: 200))
                ])
            let task = try #require(try await h.poll(worker, timeoutMs: 3_000))
            let types = task.events.map(\.eventType)
            #expect(types.contains(.activityTaskTimedOut))
            #expect(!types.contains(.activityTaskStarted))
        }
    }
}

@Suite("Races between a running task and timers", .serialized)
struct TimerRaceTests {
    @Test("canceling a timer that fired while the task ran: accepted, the firing is dropped")
    func cancelFiredTimer() async throws {
        try await Harness.with { h in
            try await h.start("race")
            let worker = try await h.worker()
            try await h.complete(worker, try #require(try await h.poll(worker)), [.timer("escalation", 1_500)])
            try await h.signal("race", "ack", ["responder": "alice"])
            let task = try #require(try await h.poll(worker))
            #expect(!task.events.contains { $0.eventType == .timerFired }, "the timer must fire while the task is held")
            // Wait until the timer has fired (it leaves the pending timers) while the task is still held.
            for _ in 0..<200 where !(try await h.describe("race").pendingTimers.isEmpty) {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await h.complete(worker, task, [.cancelTimer(CancelTimerCommand(timerId: "escalation"))])
            let types = try await h.types("race")
            #expect(types.contains(.timerCanceled))
            #expect(!types.contains(.timerFired), "the workflow never sees a firing it canceled")
            #expect(!types.contains(.workflowTaskFailed))
            #expect(try await h.poll(worker, timeoutMs: 300) == nil, "nothing left for the workflow")
        }
    }

    @Test("canceling an activity that finished while the task ran: accepted, the outcome still follows")
    func cancelFinishedActivity() async throws {
        try await Harness.with { h in
            try await h.start("race2")
            let worker = try await h.worker()
            try await h.complete(worker, try #require(try await h.poll(worker)), [.activity("1")])
            let activity = try #require(try await h.pollActivity(worker))
            try await h.signal("race2", "stop")
            let task = try #require(try await h.poll(worker))
            _ = try await worker.send(CompleteActivityTaskRequest(taskToken: activity.taskToken, result: "done"))
            let scheduled = try #require(try await h.history("race2").first { $0.eventType == .activityTaskScheduled })
            try await h.complete(
                worker, task,
                [.requestCancelActivityTask(RequestCancelActivityTaskCommand(scheduledEventId: scheduled.eventId))])
            let types = try await h.types("race2")
            #expect(types.contains(.activityTaskCancelRequested))
            #expect(types.contains(.activityTaskCompleted))
            #expect(!types.contains(.workflowTaskFailed))
        }
    }
}
