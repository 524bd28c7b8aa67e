import Synchronization

/// A bounded, multi-producer multi-consumer FIFO channel that applies backpressure between pipeline stages.
///
/// `AsyncStream` buffers without limit (or drops) but can never make a producer wait, so a fast stage would
/// outrun a slow one and grow memory without bound. `BoundedChannel` holds at most ``capacity`` elements:
/// ``send(_:)`` suspends while the buffer is full and resumes once a consumer takes an element (or the channel
/// finishes, or the sender's task is cancelled). Non-suspending variants cover the other overflow policies:
/// ``trySend(_:)`` reports `.full` and ``sendEvictingOldest(_:)`` drops the oldest buffered element.
///
/// Any number of tasks may send, and any number may iterate at the same time (each with its own iterator);
/// every element is delivered to exactly one consumer, in FIFO order of enqueueing. ``finish()`` stops
/// accepting elements; consumers still receive everything already buffered and then `nil`.
///
/// Cancellation: a consumer whose task is cancelled while it waits for an element gets `nil` (its iterator then
/// stays finished); a producer whose task is cancelled while it waits for room gets `false` and still owns its
/// element. A cancelled task that does not need to wait is served normally.
///
/// ## Cost
/// Elements are meant to be chunks of hundreds of events, so costs are per chunk. Sending into a buffer with
/// room, or receiving from a non-empty buffer, is one uncontended `Mutex` critical section and no allocation
/// beyond the buffer's occasional growth: a same-task `send` + `next` round trip measured ~60–130 ns in a release
/// micro-benchmark on the 2-vCPU reference machine. Handing elements between two tasks, where one side keeps
/// suspending and being resumed, measured ~0.3–0.45 µs per element. Only a side that has to wait creates a
/// continuation (unsafe in release builds, checked in debug builds; see `ChannelContinuation`). Buffer storage
/// starts small and doubles up to ``capacity``. `send` and the iterator run on the caller's executor, so an actor
/// that sends or receives does not hop off and back for every chunk.
public final class BoundedChannel<Element: Sendable>: AsyncSequence, Sendable {
    /// Values are never thrown: end of stream and cancellation are both reported as `nil`.
    public typealias Failure = Never

    /// What ``BoundedChannel/trySend(_:)`` did with the element.
    public enum TrySendResult: Sendable, Equatable {
        /// The element is in the channel (buffered, or handed straight to a waiting consumer).
        case enqueued
        /// The buffer is full; the caller still owns the element.
        case full
        /// The channel was finished; the caller still owns the element.
        case finished
    }

    /// What ``BoundedChannel/sendEvictingOldest(_:)`` did with the element.
    public enum EvictingSendResult: Sendable {
        /// The element is in the channel. `evicted` is the oldest buffered element, removed to make room, which
        /// the caller now owns (to count it as dropped); nil when there was room.
        case enqueued(evicted: Element?)
        /// The channel was finished; the caller still owns the element.
        case finished
    }

    private let state: Mutex<BoundedChannelState<Element>>

    /// Creates an empty channel.
    ///
    /// - Parameter capacity: the most elements buffered at once; at least 1. With capacity 1 a producer can be at
    ///   most one element ahead of its consumers.
    public init(capacity: Int) {
        precondition(capacity >= 1, "BoundedChannel capacity must be at least 1, got \(capacity)")
        self.capacity = capacity
        self.state = Mutex(BoundedChannelState(capacity: capacity))
    }

    /// The most elements the channel buffers before ``send(_:)`` waits.
    public let capacity: Int

    /// The number of elements buffered right now (the queue depth, for metrics).
    ///
    /// Elements held by producers that are waiting for room are not counted: they are not in the buffer yet.
    public var count: Int {
        state.withLock { $0.buffer.count }
    }

    /// Producers currently suspended in ``send(_:)`` (lets tests wait for a suspension deterministically).
    var suspendedProducerCount: Int {
        state.withLock { $0.producers.count }
    }

    /// Consumers currently suspended waiting for an element.
    var suspendedConsumerCount: Int {
        state.withLock { $0.consumers.count }
    }

    // Outcomes of the critical sections in `send`/`receive`; the continuations they carry are resumed after
    // unlocking.
    private enum SendFastPath {
        case done(Bool, handOff: ChannelContinuation<Element?>?)
        case wait(id: UInt64)
    }
    private enum SendSuspendAction {
        case resume(Bool, handOff: ChannelContinuation<Element?>?)
        case suspended
    }
    private enum ReceiveFastPath {
        case done(Element?, producer: ChannelContinuation<Bool>?)
        case wait(id: UInt64)
    }
    private enum ReceiveSuspendAction {
        case resume(Element?, producer: ChannelContinuation<Bool>?)
        case suspended
    }

    /// Enqueues an element, waiting while the buffer is full.
    ///
    /// Runs on the caller's executor, so a stage actor that sends does not hop off and back for every chunk.
    ///
    /// - Returns: `true` when the element was enqueued; `false` when the channel was finished (before or while
    ///   waiting) or the calling task was cancelled while waiting. On `false` the caller still owns the element
    ///   and must account for it (for example, count it as dropped).
    nonisolated(nonsending)
    public func send(_ element: Element) async -> Bool {
        let fast = state.withLock { state -> SendFastPath in
            switch state.offer(element) {
            case .enqueued: return .done(true, handOff: nil)
            case .handOff(let consumer): return .done(true, handOff: consumer)
            case .finished: return .done(false, handOff: nil)
            case .full: return .wait(id: state.makeID())
            }
        }
        switch fast {
        case .done(let enqueued, let consumer):
            consumer?.resume(returning: element)
            return enqueued
        case .wait(let id):
            return await sendSuspending(element, id: id)
        }
    }

    nonisolated(nonsending)
    private func sendSuspending(_ element: Element, id: UInt64) async -> Bool {
        return await withTaskCancellationHandler {
            await withChannelContinuation { (continuation: ChannelContinuation<Bool>) in
                // The state may have changed since the fast path unlocked, so decide again.
                let action = state.withLock { state -> SendSuspendAction in
                    switch state.offer(element) {
                    case .enqueued: return .resume(true, handOff: nil)
                    case .handOff(let consumer): return .resume(true, handOff: consumer)
                    case .finished: return .resume(false, handOff: nil)
                    case .full:
                        // Checked under the lock: if cancellation happened before this point the flag is already
                        // set (the handler may have run and found nothing to remove); if it happens later, the
                        // handler needs this lock and so runs after the producer is queued, and finds it.
                        if Task.isCancelled { return .resume(false, handOff: nil) }
                        state.enqueueProducer(.init(id: id, element: element, continuation: continuation))
                        return .suspended
                    }
                }
                switch action {
                case .resume(let enqueued, let consumer):
                    consumer?.resume(returning: element)
                    continuation.resume(returning: enqueued)
                case .suspended:
                    break
                }
            }
        } onCancel: {
            state.withLock { $0.removeProducer(id: id) }?.resume(returning: false)
        }
    }

    /// Enqueues an element if there is room, without ever suspending.
    ///
    /// Use it for the "drop newest" overflow policy, or to try before falling back to ``send(_:)``.
    public func trySend(_ element: Element) -> TrySendResult {
        let (result, consumer) = state.withLock { state -> (TrySendResult, ChannelContinuation<Element?>?) in
            switch state.offer(element) {
            case .enqueued: return (.enqueued, nil)
            case .handOff(let consumer): return (.enqueued, consumer)
            case .full: return (.full, nil)
            case .finished: return (.finished, nil)
            }
        }
        consumer?.resume(returning: element)
        return result
    }

    /// Enqueues an element without ever suspending, evicting the oldest buffered element when the buffer is full
    /// (the "drop oldest" overflow policy: fresh data wins over stale data).
    ///
    /// Producers already waiting in ``send(_:)`` keep waiting; their elements are not evicted.
    ///
    /// - Returns: `.enqueued(evicted:)` with the element removed to make room (nil if there was room), which the
    ///   caller must account for; `.finished` if the channel no longer accepts elements.
    public func sendEvictingOldest(_ element: Element) -> EvictingSendResult {
        let (result, consumer) = state.withLock {
            state -> (EvictingSendResult, ChannelContinuation<Element?>?) in
            switch state.offerEvictingOldest(element) {
            case .enqueued(let evicted): return (.enqueued(evicted: evicted), nil)
            case .handOff(let consumer): return (.enqueued(evicted: nil), consumer)
            case .finished: return (.finished, nil)
            }
        }
        consumer?.resume(returning: element)
        return result
    }

    /// Stops accepting elements.
    ///
    /// Consumers still receive every buffered element, then `nil`. Producers waiting in ``send(_:)`` resume with
    /// `false` (they keep their elements); later sends return `false`/`.finished` at once. Calling it again has no
    /// effect.
    public func finish() {
        let (producers, consumers) = state.withLock { $0.finish() }
        for producer in producers { producer.resume(returning: false) }
        for consumer in consumers { consumer.resume(returning: nil) }
    }

    /// Creates an iterator; each concurrent consumer needs its own.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(channel: self)
    }

    /// Receives the channel's elements in FIFO order, sharing them with any other iterators of the same channel.
    public struct AsyncIterator: AsyncIteratorProtocol {
        /// Values are never thrown: end of stream and cancellation are both reported as `nil`.
        public typealias Failure = Never

        private let channel: BoundedChannel
        // Once nil has been returned (finished or cancelled) the iterator stays done, as iterators must.
        private var isDone = false

        init(channel: BoundedChannel) {
            self.channel = channel
        }

        /// The next element, waiting while the channel is empty.
        ///
        /// - Returns: the oldest buffered element; nil once the channel is finished and drained, or when the
        ///   calling task is cancelled while waiting.
        public mutating func next() async -> Element? {
            await next(isolation: nil)
        }

        /// The next element, waiting on the caller's executor while the channel is empty (avoids hopping off a
        /// consuming actor for every chunk).
        public mutating func next(isolation actor: isolated (any Actor)?) async -> Element? {
            if isDone { return nil }
            let element = await channel.receive()
            if element == nil { isDone = true }
            return element
        }
    }

    /// Takes the oldest element, waiting while the channel is empty; nil when finished and drained or cancelled
    /// while waiting. Shared by all iterators, which add only their stay-finished flag.
    nonisolated(nonsending)
    func receive() async -> Element? {
        let fast = state.withLock { state -> ReceiveFastPath in
            switch state.poll() {
            case .element(let element, let producer): return .done(element, producer: producer)
            case .finished: return .done(nil, producer: nil)
            case .empty: return .wait(id: state.makeID())
            }
        }
        switch fast {
        case .done(let element, let producer):
            producer?.resume(returning: true)
            return element
        case .wait(let id):
            return await receiveSuspending(id: id)
        }
    }

    nonisolated(nonsending)
    private func receiveSuspending(id: UInt64) async -> Element? {
        return await withTaskCancellationHandler {
            await withChannelContinuation { (continuation: ChannelContinuation<Element?>) in
                let action = state.withLock { state -> ReceiveSuspendAction in
                    switch state.poll() {
                    case .element(let element, let producer): return .resume(element, producer: producer)
                    case .finished: return .resume(nil, producer: nil)
                    case .empty:
                        // Same reasoning as in `sendSuspending`: checking under the lock closes the window
                        // between the cancellation handler running and the consumer being queued.
                        if Task.isCancelled { return .resume(nil, producer: nil) }
                        state.enqueueConsumer(.init(id: id, continuation: continuation))
                        return .suspended
                    }
                }
                switch action {
                case .resume(let element, let producer):
                    producer?.resume(returning: true)
                    continuation.resume(returning: element)
                case .suspended:
                    break
                }
            }
        } onCancel: {
            state.withLock { $0.removeConsumer(id: id) }?.resume(returning: nil)
        }
    }
}

extension BoundedChannel.EvictingSendResult: Equatable where Element: Equatable {}

@available(*, unavailable, message: "Each task makes its own iterator; share the channel instead.")
extension BoundedChannel.AsyncIterator: Sendable {}
