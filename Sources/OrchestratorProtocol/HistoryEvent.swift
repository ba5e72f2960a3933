/// One entry of a workflow run's history. Events are numbered from 1 without gaps, per run.
///
/// On the wire: `{"eventId": 5, "eventType": "TimerStarted", "eventTime": "…Z", "attributes": {…}}`.
public struct HistoryEvent: Sendable, Hashable {
    public var eventId: Int64
    public var eventTime: Timestamp
    public var attributes: EventAttributes {
        didSet { encodedAttributes = nil }
    }
    /// The canonical JSON of `attributes`, when known: the server encodes an event's attributes once,
    /// stores these bytes and splices them into every message that carries the event, instead of
    /// encoding the attributes again for each. Not part of the value (equality ignores it).
    public private(set) var encodedAttributes: [UInt8]?

    public init(eventId: Int64, eventTime: Timestamp, attributes: EventAttributes) {
        self.eventId = eventId
        self.eventTime = eventTime
        self.attributes = attributes
    }

    /// An event whose attributes' canonical JSON is known (as read from the store).
    public init(eventId: Int64, eventTime: Timestamp, attributes: EventAttributes, encodedAttributes: [UInt8]) {
        self.init(eventId: eventId, eventTime: eventTime, attributes: attributes)
        self.encodedAttributes = encodedAttributes
    }

    /// Encodes the attributes now and keeps their bytes for every later encoding of this event.
    public mutating func encodeAttributesOnce() throws {
        if encodedAttributes == nil { encodedAttributes = try attributes.canonicalJSON() }
    }

    /// Reads the common events (those ``EventAttributes/canonicalJSON()`` writes directly) straight
    /// from the parsed JSON, without Codable's containers. Nil for any other event or any unusual
    /// form, which the Codable path then reads (or rejects with its precise error).
    init?(directFrom node: JSONElement) {
        guard let members = node.object,
            let type = members.name("eventType", as: EventType.self),
            let eventId = members.int64("eventId"),
            let eventTime = members.timestamp("eventTime"),
            let f = members.object("attributes")
        else { return nil }
        let attributes: EventAttributes
        switch type {
        case .workflowTaskScheduled:
            guard let taskQueue = f.string("taskQueue"), let timeout = f.int64("startToCloseTimeoutMs"),
                let attempt = f.int32("attempt")
            else { return nil }
            attributes = .workflowTaskScheduled(
                .init(taskQueue: taskQueue, startToCloseTimeoutMs: timeout, attempt: attempt))
        case .workflowTaskStarted:
            guard let scheduled = f.int64("scheduledEventId"), let identity = f.optionalString("identity") else {
                return nil
            }
            attributes = .workflowTaskStarted(.init(scheduledEventId: scheduled, identity: identity))
        case .workflowTaskCompleted:
            guard let scheduled = f.int64("scheduledEventId"), let started = f.int64("startedEventId"),
                let identity = f.optionalString("identity")
            else { return nil }
            attributes = .workflowTaskCompleted(
                .init(scheduledEventId: scheduled, startedEventId: started, identity: identity))
        case .workflowExecutionSignaled:
            guard let name = f.string("signalName"), let identity = f.optionalString("identity"),
                let requestId = f.optionalString("requestId")
            else { return nil }
            attributes = .workflowExecutionSignaled(
                .init(signalName: name, input: f.payload("input"), identity: identity, requestId: requestId))
        case .activityTaskStarted:
            guard let scheduled = f.int64("scheduledEventId"), let attempt = f.int32("attempt"),
                let identity = f.optionalString("identity"), f.isAbsentOrNull("lastFailure")
            else { return nil }
            attributes = .activityTaskStarted(
                .init(scheduledEventId: scheduled, identity: identity, attempt: attempt, lastFailure: nil))
        case .activityTaskCompleted:
            guard let scheduled = f.int64("scheduledEventId"), let started = f.int64("startedEventId"),
                let identity = f.optionalString("identity")
            else { return nil }
            attributes = .activityTaskCompleted(
                .init(
                    scheduledEventId: scheduled, startedEventId: started, result: f.payload("result"),
                    identity: identity))
        case .timerStarted:
            guard let timerId = f.string("timerId"), let timeout = f.int64("startToFireTimeoutMs"),
                let completed = f.int64("workflowTaskCompletedEventId")
            else { return nil }
            attributes = .timerStarted(
                .init(timerId: timerId, startToFireTimeoutMs: timeout, workflowTaskCompletedEventId: completed))
        case .timerCanceled:
            guard let timerId = f.string("timerId"), let started = f.int64("startedEventId"),
                let completed = f.int64("workflowTaskCompletedEventId")
            else { return nil }
            attributes = .timerCanceled(
                .init(timerId: timerId, startedEventId: started, workflowTaskCompletedEventId: completed))
        case .activityTaskScheduled:
            guard let activityId = f.string("activityId"), let activityType = f.string("activityType"),
                let taskQueue = f.string("taskQueue"),
                let scheduleToClose = f.optionalInt64("scheduleToCloseTimeoutMs"),
                let startToClose = f.int64("startToCloseTimeoutMs"),
                let heartbeat = f.optionalInt64("heartbeatTimeoutMs"),
                let policy = f.object("retryPolicy"), let retryPolicy = RetryPolicy(directFrom: policy),
                let completed = f.int64("workflowTaskCompletedEventId")
            else { return nil }
            attributes = .activityTaskScheduled(
                .init(
                    activityId: activityId, activityType: activityType, taskQueue: taskQueue, input: f.payload("input"),
                    scheduleToCloseTimeoutMs: scheduleToClose, startToCloseTimeoutMs: startToClose,
                    heartbeatTimeoutMs: heartbeat, retryPolicy: retryPolicy, workflowTaskCompletedEventId: completed))
        case .workflowExecutionStarted:
            guard f.isAbsentOrNull("searchAttributes"), let workflowType = f.string("workflowType"),
                let taskQueue = f.string("taskQueue"), let taskTimeout = f.int64("workflowTaskTimeoutMs"),
                let identity = f.optionalString("identity"), let requestId = f.optionalString("requestId"),
                let attempt = f.int32("attempt"), let firstRunId = f.string("firstExecutionRunId"),
                let continuedRunId = f.optionalString("continuedExecutionRunId"),
                let parentWorkflowId = f.optionalString("parentWorkflowId"),
                let parentRunId = f.optionalString("parentRunId"),
                let parentInitiated = f.optionalInt64("parentInitiatedEventId")
            else { return nil }
            attributes = .workflowExecutionStarted(
                .init(
                    workflowType: workflowType, taskQueue: taskQueue, input: f.payload("input"),
                    workflowTaskTimeoutMs: taskTimeout, identity: identity, requestId: requestId, attempt: attempt,
                    firstExecutionRunId: firstRunId, continuedExecutionRunId: continuedRunId,
                    parentWorkflowId: parentWorkflowId, parentRunId: parentRunId,
                    parentInitiatedEventId: parentInitiated))
        case .workflowExecutionCompleted:
            guard let completed = f.int64("workflowTaskCompletedEventId") else { return nil }
            attributes = .workflowExecutionCompleted(
                .init(result: f.payload("result"), workflowTaskCompletedEventId: completed))
        default:
            return nil
        }
        self.init(eventId: eventId, eventTime: eventTime, attributes: attributes)
    }

    /// Events read directly where they are plain, by Codable where not (with the tree of that one
    /// event); nil when one is not an event.
    static func list(directFrom items: JSONArrayView) -> [HistoryEvent]? {
        var events: [HistoryEvent] = []
        events.reserveCapacity(items.count)
        for item in items {
            if let event = HistoryEvent(directFrom: item) {
                events.append(event)
            } else if let event = try? MessageCodec.decode(HistoryEvent.self, from: item.node) {
                events.append(event)
            } else {
                return nil
            }
        }
        return events
    }

    /// The event's canonical JSON object, written without Codable's containers when its
    /// attributes' bytes are known (every event the server sends); nil otherwise.
    var directlyEncoded: EncodedValue? {
        guard let encodedAttributes else { return nil }
        var object = CanonicalObjectWriter(capacity: 4 + encodedAttributes.count / 32)
        // In canonical (sorted) key order.
        object.raw("attributes", encodedAttributes)
        object.int("eventId", eventId)
        object.timestamp("eventTime", eventTime)
        object.string("eventType", eventType.rawValue)
        return .raw(object.finish())
    }

    public var eventType: EventType { attributes.eventType }

    /// The event's canonical JSON object (the bytes `MessageCodec.encodeBytes` gives), written
    /// directly around its attributes' bytes.
    public func canonicalJSON() throws -> [UInt8] {
        var object = CanonicalObjectWriter()
        object.raw("attributes", try encodedAttributes ?? attributes.canonicalJSON())
        object.int("eventId", eventId)
        object.timestamp("eventTime", eventTime)
        object.string("eventType", eventType.rawValue)
        return object.finish()
    }

    public static func == (lhs: HistoryEvent, rhs: HistoryEvent) -> Bool {
        lhs.eventId == rhs.eventId && lhs.eventTime == rhs.eventTime && lhs.attributes == rhs.attributes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(eventId)
        hasher.combine(eventTime)
        hasher.combine(attributes)
    }
}

/// The type of a history event, by its Temporal name.
public enum EventType: String, Sendable, Hashable, Codable, CaseIterable {
    case workflowExecutionStarted = "WorkflowExecutionStarted"
    case workflowExecutionCompleted = "WorkflowExecutionCompleted"
    case workflowExecutionFailed = "WorkflowExecutionFailed"
    case workflowExecutionCanceled = "WorkflowExecutionCanceled"
    case workflowExecutionCancelRequested = "WorkflowExecutionCancelRequested"
    case workflowExecutionTerminated = "WorkflowExecutionTerminated"
    case workflowExecutionContinuedAsNew = "WorkflowExecutionContinuedAsNew"
    case workflowExecutionSignaled = "WorkflowExecutionSignaled"
    case workflowTaskScheduled = "WorkflowTaskScheduled"
    case workflowTaskStarted = "WorkflowTaskStarted"
    case workflowTaskCompleted = "WorkflowTaskCompleted"
    case workflowTaskFailed = "WorkflowTaskFailed"
    case workflowTaskTimedOut = "WorkflowTaskTimedOut"
    case activityTaskScheduled = "ActivityTaskScheduled"
    case activityTaskStarted = "ActivityTaskStarted"
    case activityTaskCompleted = "ActivityTaskCompleted"
    case activityTaskFailed = "ActivityTaskFailed"
    case activityTaskTimedOut = "ActivityTaskTimedOut"
    case activityTaskCancelRequested = "ActivityTaskCancelRequested"
    case activityTaskCanceled = "ActivityTaskCanceled"
    case timerStarted = "TimerStarted"
    case timerFired = "TimerFired"
    case timerCanceled = "TimerCanceled"
    case markerRecorded = "MarkerRecorded"
    case upsertWorkflowSearchAttributes = "UpsertWorkflowSearchAttributes"
    case startChildWorkflowExecutionInitiated = "StartChildWorkflowExecutionInitiated"
    case startChildWorkflowExecutionFailed = "StartChildWorkflowExecutionFailed"
    case childWorkflowExecutionStarted = "ChildWorkflowExecutionStarted"
    case childWorkflowExecutionCompleted = "ChildWorkflowExecutionCompleted"
    case childWorkflowExecutionFailed = "ChildWorkflowExecutionFailed"
    case childWorkflowExecutionCanceled = "ChildWorkflowExecutionCanceled"
    case childWorkflowExecutionTerminated = "ChildWorkflowExecutionTerminated"
    case signalExternalWorkflowExecutionInitiated = "SignalExternalWorkflowExecutionInitiated"
    case signalExternalWorkflowExecutionFailed = "SignalExternalWorkflowExecutionFailed"
    case externalWorkflowExecutionSignaled = "ExternalWorkflowExecutionSignaled"

    /// Whether this event closes the run.
    public var closesRun: Bool {
        switch self {
        case .workflowExecutionCompleted, .workflowExecutionFailed, .workflowExecutionCanceled,
            .workflowExecutionTerminated, .workflowExecutionContinuedAsNew:
            return true
        default:
            return false
        }
    }
}

/// The attributes of a history event; the case decides the event type.
public enum EventAttributes: Sendable, Hashable {
    case workflowExecutionStarted(WorkflowExecutionStartedAttributes)
    case workflowExecutionCompleted(WorkflowExecutionCompletedAttributes)
    case workflowExecutionFailed(WorkflowExecutionFailedAttributes)
    case workflowExecutionCanceled(WorkflowExecutionCanceledAttributes)
    case workflowExecutionCancelRequested(WorkflowExecutionCancelRequestedAttributes)
    case workflowExecutionTerminated(WorkflowExecutionTerminatedAttributes)
    case workflowExecutionContinuedAsNew(WorkflowExecutionContinuedAsNewAttributes)
    case workflowExecutionSignaled(WorkflowExecutionSignaledAttributes)
    case workflowTaskScheduled(WorkflowTaskScheduledAttributes)
    case workflowTaskStarted(WorkflowTaskStartedAttributes)
    case workflowTaskCompleted(WorkflowTaskCompletedAttributes)
    case workflowTaskFailed(WorkflowTaskFailedAttributes)
    case workflowTaskTimedOut(WorkflowTaskTimedOutAttributes)
    case activityTaskScheduled(ActivityTaskScheduledAttributes)
    case activityTaskStarted(ActivityTaskStartedAttributes)
    case activityTaskCompleted(ActivityTaskCompletedAttributes)
    case activityTaskFailed(ActivityTaskFailedAttributes)
    case activityTaskTimedOut(ActivityTaskTimedOutAttributes)
    case activityTaskCancelRequested(ActivityTaskCancelRequestedAttributes)
    case activityTaskCanceled(ActivityTaskCanceledAttributes)
    case timerStarted(TimerStartedAttributes)
    case timerFired(TimerFiredAttributes)
    case timerCanceled(TimerCanceledAttributes)
    case markerRecorded(MarkerRecordedAttributes)
    case upsertWorkflowSearchAttributes(UpsertWorkflowSearchAttributesAttributes)
    case startChildWorkflowExecutionInitiated(StartChildWorkflowExecutionInitiatedAttributes)
    case startChildWorkflowExecutionFailed(StartChildWorkflowExecutionFailedAttributes)
    case childWorkflowExecutionStarted(ChildWorkflowExecutionStartedAttributes)
    case childWorkflowExecutionCompleted(ChildWorkflowExecutionClosedAttributes)
    case childWorkflowExecutionFailed(ChildWorkflowExecutionClosedAttributes)
    case childWorkflowExecutionCanceled(ChildWorkflowExecutionClosedAttributes)
    case childWorkflowExecutionTerminated(ChildWorkflowExecutionClosedAttributes)
    case signalExternalWorkflowExecutionInitiated(SignalExternalWorkflowExecutionInitiatedAttributes)
    case signalExternalWorkflowExecutionFailed(SignalExternalWorkflowExecutionFailedAttributes)
    case externalWorkflowExecutionSignaled(ExternalWorkflowExecutionSignaledAttributes)

    public var eventType: EventType {
        switch self {
        case .workflowExecutionStarted: .workflowExecutionStarted
        case .workflowExecutionCompleted: .workflowExecutionCompleted
        case .workflowExecutionFailed: .workflowExecutionFailed
        case .workflowExecutionCanceled: .workflowExecutionCanceled
        case .workflowExecutionCancelRequested: .workflowExecutionCancelRequested
        case .workflowExecutionTerminated: .workflowExecutionTerminated
        case .workflowExecutionContinuedAsNew: .workflowExecutionContinuedAsNew
        case .workflowExecutionSignaled: .workflowExecutionSignaled
        case .workflowTaskScheduled: .workflowTaskScheduled
        case .workflowTaskStarted: .workflowTaskStarted
        case .workflowTaskCompleted: .workflowTaskCompleted
        case .workflowTaskFailed: .workflowTaskFailed
        case .workflowTaskTimedOut: .workflowTaskTimedOut
        case .activityTaskScheduled: .activityTaskScheduled
        case .activityTaskStarted: .activityTaskStarted
        case .activityTaskCompleted: .activityTaskCompleted
        case .activityTaskFailed: .activityTaskFailed
        case .activityTaskTimedOut: .activityTaskTimedOut
        case .activityTaskCancelRequested: .activityTaskCancelRequested
        case .activityTaskCanceled: .activityTaskCanceled
        case .timerStarted: .timerStarted
        case .timerFired: .timerFired
        case .timerCanceled: .timerCanceled
        case .markerRecorded: .markerRecorded
        case .upsertWorkflowSearchAttributes: .upsertWorkflowSearchAttributes
        case .startChildWorkflowExecutionInitiated: .startChildWorkflowExecutionInitiated
        case .startChildWorkflowExecutionFailed: .startChildWorkflowExecutionFailed
        case .childWorkflowExecutionStarted: .childWorkflowExecutionStarted
        case .childWorkflowExecutionCompleted: .childWorkflowExecutionCompleted
        case .childWorkflowExecutionFailed: .childWorkflowExecutionFailed
        case .childWorkflowExecutionCanceled: .childWorkflowExecutionCanceled
        case .childWorkflowExecutionTerminated: .childWorkflowExecutionTerminated
        case .signalExternalWorkflowExecutionInitiated: .signalExternalWorkflowExecutionInitiated
        case .signalExternalWorkflowExecutionFailed: .signalExternalWorkflowExecutionFailed
        case .externalWorkflowExecutionSignaled: .externalWorkflowExecutionSignaled
        }
    }
}

extension HistoryEvent: Codable {
    private enum CodingKeys: String, CodingKey {
        case eventId, eventType, eventTime, attributes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventId = try container.decode(Int64.self, forKey: .eventId)
        eventTime = try container.decode(Timestamp.self, forKey: .eventTime)
        let type = try container.decode(EventType.self, forKey: .eventType)
        attributes = try EventAttributes(type: type, from: container, forKey: .attributes)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(eventId, forKey: .eventId)
        try container.encode(eventType, forKey: .eventType)
        try container.encode(eventTime, forKey: .eventTime)
        if let encodedAttributes, encoder is ValueEncoder {
            try container.encode(RawJSON(bytes: encodedAttributes), forKey: .attributes)
        } else {
            try attributes.encodePayload(to: &container, forKey: .attributes)
        }
    }
}

extension EventAttributes {
    /// Decodes the attributes object of an event of the given type.
    public init<Key: CodingKey>(type: EventType, from container: KeyedDecodingContainer<Key>, forKey key: Key) throws {
        try self.init(type: type, singleValueFrom: try container.superDecoder(forKey: key))
    }

    /// Encodes the attributes object (without the event type) under `key`.
    public func encodePayload<Key: CodingKey>(to container: inout KeyedEncodingContainer<Key>, forKey key: Key) throws {
        try container.encode(self, forKey: key)
    }
}

extension EventAttributes: Encodable {
    /// Encodes the bare attributes object (the event type is not included).
    public func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        switch self {
        case .workflowExecutionStarted(let a): try single.encode(a)
        case .workflowExecutionCompleted(let a): try single.encode(a)
        case .workflowExecutionFailed(let a): try single.encode(a)
        case .workflowExecutionCanceled(let a): try single.encode(a)
        case .workflowExecutionCancelRequested(let a): try single.encode(a)
        case .workflowExecutionTerminated(let a): try single.encode(a)
        case .workflowExecutionContinuedAsNew(let a): try single.encode(a)
        case .workflowExecutionSignaled(let a): try single.encode(a)
        case .workflowTaskScheduled(let a): try single.encode(a)
        case .workflowTaskStarted(let a): try single.encode(a)
        case .workflowTaskCompleted(let a): try single.encode(a)
        case .workflowTaskFailed(let a): try single.encode(a)
        case .workflowTaskTimedOut(let a): try single.encode(a)
        case .activityTaskScheduled(let a): try single.encode(a)
        case .activityTaskStarted(let a): try single.encode(a)
        case .activityTaskCompleted(let a): try single.encode(a)
        case .activityTaskFailed(let a): try single.encode(a)
        case .activityTaskTimedOut(let a): try single.encode(a)
        case .activityTaskCancelRequested(let a): try single.encode(a)
        case .activityTaskCanceled(let a): try single.encode(a)
        case .timerStarted(let a): try single.encode(a)
        case .timerFired(let a): try single.encode(a)
        case .timerCanceled(let a): try single.encode(a)
        case .markerRecorded(let a): try single.encode(a)
        case .upsertWorkflowSearchAttributes(let a): try single.encode(a)
        case .startChildWorkflowExecutionInitiated(let a): try single.encode(a)
        case .startChildWorkflowExecutionFailed(let a): try single.encode(a)
        case .childWorkflowExecutionStarted(let a): try single.encode(a)
        case .childWorkflowExecutionCompleted(let a), .childWorkflowExecutionFailed(let a),
            .childWorkflowExecutionCanceled(let a), .childWorkflowExecutionTerminated(let a):
            try single.encode(a)
        case .signalExternalWorkflowExecutionInitiated(let a): try single.encode(a)
        case .signalExternalWorkflowExecutionFailed(let a): try single.encode(a)
        case .externalWorkflowExecutionSignaled(let a): try single.encode(a)
        }
    }

    /// The key under which a decoder's `userInfo` names the event type of a bare attributes object.
    public static let eventTypeUserInfoKey = CodingUserInfoKey(rawValue: "orchestrator.eventType")!

    /// Decodes a bare attributes object; the event type comes from `decoder.userInfo[eventTypeUserInfoKey]`.
    public struct Bare: Decodable {
        public var attributes: EventAttributes
        public init(from decoder: any Decoder) throws {
            guard let type = decoder.userInfo[EventAttributes.eventTypeUserInfoKey] as? EventType else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "no event type given for bare attributes"))
            }
            attributes = try EventAttributes(type: type, singleValueFrom: decoder)
        }
    }

    init(type: EventType, singleValueFrom decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        func d<T: Decodable>(_: T.Type) throws -> T { try single.decode(T.self) }
        switch type {
        case .workflowExecutionStarted: self = .workflowExecutionStarted(try d(WorkflowExecutionStartedAttributes.self))
        case .workflowExecutionCompleted:
            self = .workflowExecutionCompleted(try d(WorkflowExecutionCompletedAttributes.self))
        case .workflowExecutionFailed: self = .workflowExecutionFailed(try d(WorkflowExecutionFailedAttributes.self))
        case .workflowExecutionCanceled:
            self = .workflowExecutionCanceled(try d(WorkflowExecutionCanceledAttributes.self))
        case .workflowExecutionCancelRequested:
            self = .workflowExecutionCancelRequested(try d(WorkflowExecutionCancelRequestedAttributes.self))
        case .workflowExecutionTerminated:
            self = .workflowExecutionTerminated(try d(WorkflowExecutionTerminatedAttributes.self))
        case .workflowExecutionContinuedAsNew:
            self = .workflowExecutionContinuedAsNew(try d(WorkflowExecutionContinuedAsNewAttributes.self))
        case .workflowExecutionSignaled:
            self = .workflowExecutionSignaled(try d(WorkflowExecutionSignaledAttributes.self))
        case .workflowTaskScheduled: self = .workflowTaskScheduled(try d(WorkflowTaskScheduledAttributes.self))
        case .workflowTaskStarted: self = .workflowTaskStarted(try d(WorkflowTaskStartedAttributes.self))
        case .workflowTaskCompleted: self = .workflowTaskCompleted(try d(WorkflowTaskCompletedAttributes.self))
        case .workflowTaskFailed: self = .workflowTaskFailed(try d(WorkflowTaskFailedAttributes.self))
        case .workflowTaskTimedOut: self = .workflowTaskTimedOut(try d(WorkflowTaskTimedOutAttributes.self))
        case .activityTaskScheduled: self = .activityTaskScheduled(try d(ActivityTaskScheduledAttributes.self))
        case .activityTaskStarted: self = .activityTaskStarted(try d(ActivityTaskStartedAttributes.self))
        case .activityTaskCompleted: self = .activityTaskCompleted(try d(ActivityTaskCompletedAttributes.self))
        case .activityTaskFailed: self = .activityTaskFailed(try d(ActivityTaskFailedAttributes.self))
        case .activityTaskTimedOut: self = .activityTaskTimedOut(try d(ActivityTaskTimedOutAttributes.self))
        case .activityTaskCancelRequested:
            self = .activityTaskCancelRequested(try d(ActivityTaskCancelRequestedAttributes.self))
        case .activityTaskCanceled: self = .activityTaskCanceled(try d(ActivityTaskCanceledAttributes.self))
        case .timerStarted: self = .timerStarted(try d(TimerStartedAttributes.self))
        case .timerFired: self = .timerFired(try d(TimerFiredAttributes.self))
        case .timerCanceled: self = .timerCanceled(try d(TimerCanceledAttributes.self))
        case .markerRecorded: self = .markerRecorded(try d(MarkerRecordedAttributes.self))
        case .upsertWorkflowSearchAttributes:
            self = .upsertWorkflowSearchAttributes(try d(UpsertWorkflowSearchAttributesAttributes.self))
        case .startChildWorkflowExecutionInitiated:
            self = .startChildWorkflowExecutionInitiated(try d(StartChildWorkflowExecutionInitiatedAttributes.self))
        case .startChildWorkflowExecutionFailed:
            self = .startChildWorkflowExecutionFailed(try d(StartChildWorkflowExecutionFailedAttributes.self))
        case .childWorkflowExecutionStarted:
            self = .childWorkflowExecutionStarted(try d(ChildWorkflowExecutionStartedAttributes.self))
        case .childWorkflowExecutionCompleted:
            self = .childWorkflowExecutionCompleted(try d(ChildWorkflowExecutionClosedAttributes.self))
        case .childWorkflowExecutionFailed:
            self = .childWorkflowExecutionFailed(try d(ChildWorkflowExecutionClosedAttributes.self))
        case .childWorkflowExecutionCanceled:
            self = .childWorkflowExecutionCanceled(try d(ChildWorkflowExecutionClosedAttributes.self))
        case .childWorkflowExecutionTerminated:
            self = .childWorkflowExecutionTerminated(try d(ChildWorkflowExecutionClosedAttributes.self))
        case .signalExternalWorkflowExecutionInitiated:
            self = .signalExternalWorkflowExecutionInitiated(
                try d(SignalExternalWorkflowExecutionInitiatedAttributes.self))
        case .signalExternalWorkflowExecutionFailed:
            self = .signalExternalWorkflowExecutionFailed(try d(SignalExternalWorkflowExecutionFailedAttributes.self))
        case .externalWorkflowExecutionSignaled:
            self = .externalWorkflowExecutionSignaled(try d(ExternalWorkflowExecutionSignaledAttributes.self))
        }
    }
}
