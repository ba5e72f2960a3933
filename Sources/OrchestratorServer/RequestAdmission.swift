import NIOCore
import OrchestratorEngine
import OrchestratorProtocol
import Synchronization

/// What a connection's pipeline hands to the task that serves the connection.
enum InboundRequest: Sendable {
    /// A frame for the task to decode and serve: the handshake, frames that arrive before the
    /// pipeline knows the handshake is done, and frames the pipeline could not decode (the task
    /// reports those as it always did).
    case frame(ByteBuffer)
    /// A request the pipeline decoded and admitted (role, in-flight limit), which needs a task of
    /// its own: long polls, workflow task completions, reads.
    case admitted(RequestMessage)
}

/// One connection's admission of requests after its handshake, shared by its pipeline and its task:
/// the in-flight limit, the role's permissions, and the errors for requests refused.
final class RequestAdmission: Sendable {
    let connection: ServerConnection
    private let limit: Int
    private let inFlight = Atomic<Int>(0)

    init(connection: ServerConnection, limit: Int) {
        self.connection = connection
        self.limit = limit
    }

    /// Admits a request and serves it now if it needs no task (signals, starts, activity
    /// completions, query answers, queries; on the engine's executor). True when it was admitted and
    /// needs a task, which ``serveInTask(_:engine:)`` is to run; a request refused is answered here.
    func admitAndServe(_ message: RequestMessage, engine: Engine) -> Bool {
        guard admit(message) else { return false }
        let id = message.id
        return !engine.handleImmediately(message.request, from: connection) { result in self.answer(id, result) }
    }

    /// Serves an admitted request that needs a task: long polls, workflow task completions, reads.
    func serveInTask(_ message: RequestMessage, engine: Engine) async {
        answer(message.id, await engine.handle(message.request, from: connection))
    }

    /// Counts the request in flight, or answers it with the reason it is refused and returns false.
    private func admit(_ message: RequestMessage) -> Bool {
        if case .hello = message.request {
            connection.send(.error(id: message.id, .invalidArgument("the handshake is already done")))
            return false
        }
        guard connection.role.allows(message.request.operation) else {
            connection.send(.error(id: message.id, connection.role.denial(of: message.request.operation)))
            return false
        }
        if inFlight.add(1, ordering: .relaxed).newValue > limit {
            inFlight.subtract(1, ordering: .relaxed)
            connection.send(
                .error(
                    id: message.id,
                    OrchestratorError(
                        .resourceExhausted,
                        "more than \(limit) requests in flight on this connection; wait for answers before sending more"
                    )))
            return false
        }
        return true
    }

    /// Answers an admitted request and counts it out.
    private func answer(_ id: UInt64, _ result: Result<Response, OrchestratorError>) {
        inFlight.subtract(1, ordering: .relaxed)
        switch result {
        case .success(let response): connection.send(.response(id: id, response))
        case .failure(let error): connection.send(.error(id: id, error))
        }
    }
}

/// Serves the requests that need no task as the channel reads them, instead of handing each read to
/// the connection's task first: the engine's executor is this channel's event loop, so a signal is
/// applied in the same turn of the loop that reads it, with no wait behind the loop's other jobs.
/// Everything else goes on to the task: the handshake, requests that need a task (decoded once,
/// here), frames that do not decode.
///
/// Requests of a connection are applied in the order they arrive: until the task has served every
/// frame handed to it undecoded, later requests go to it too.
final class ImmediateRequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = InboundRequest

    private let engine: Engine
    /// Set once the handshake is done and the engine knows the connection; read on the loop only.
    private var admission: RequestAdmission?
    /// Frames handed to the task undecoded and not yet served by it.
    private let framesWithTask = Atomic<Int>(0)

    init(engine: Engine) {
        self.engine = engine
    }

    /// Called by the connection's task, on the channel's event loop, once the handshake is done.
    func start(_ admission: RequestAdmission) {
        self.admission = admission
    }

    /// Called by the connection's task each time it has served a frame handed to it undecoded.
    func frameServed() {
        framesWithTask.subtract(1, ordering: .relaxed)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        guard let admission, framesWithTask.load(ordering: .relaxed) == 0,
            let message = try? MessageCodec.decodeRequest(from: frame.readableBytesView)
        else {
            framesWithTask.add(1, ordering: .relaxed)
            context.fireChannelRead(Self.wrapInboundOut(.frame(frame)))
            return
        }
        if admission.admitAndServe(message, engine: engine) {
            context.fireChannelRead(Self.wrapInboundOut(.admitted(message)))
        }
    }
}
