using System.Buffers;
using System.Runtime.ExceptionServices;
using TorchToNnef.IO;
using TorchToNnef.Tensors;

namespace TorchToNnef.Ir;

/// <summary>
/// Produces the payloads of several sources on worker threads, ahead of one consumer that writes them one after the
/// other in their order (an archive writer, a folder of <c>.dat</c> files): while the consumer writes tensor i,
/// tensors i+1, i+2, ... are quantized, converted or read. Each source's <see cref="TensorSource.WriteTo"/> runs on a
/// worker into a pipe of at most <c>chunksPerItem</c> chunks (it waits when the pipe is full), and at most
/// <c>depth</c> sources are in flight (started and not yet consumed), so memory is bounded by
/// <c>depth × (chunksPerItem + 1) + 1</c> chunks whatever the size of the model or of one tensor: the chunks of one
/// <see cref="ChunkArena"/> (huge pages where the OS allows), made once for that bound. The bytes the consumer
/// receives are exactly what each source writes, so the output does not depend on the number of workers.
/// <para>
/// The consumer takes <see cref="this[int]"/> in order and writes each once; a worker's exception is rethrown by the
/// consumer when it reaches that source. Disposing (or cancelling) stops the workers, which then exit at their next
/// write.
/// </para>
/// </summary>
internal sealed class SourcePrefetcher : IDisposable
{
    /// <summary>Size of the chunks a pipe holds.</summary>
    internal const int ChunkBytes = 1 << 20;

    private readonly TensorSource[] _sources;
    private readonly Pipe[] _pipes;
    private readonly ChunkArena _arena;
    // Sources that may still be started (at most depth in flight): a counter under a monitor, not a SemaphoreSlim,
    // whose Wait spins with sched_yield before blocking (1,500 such calls in one 1.1B export, bench/README.md
    // "Archive writer (w-io)"); a worker that must wait here blocks at once.
    private readonly object _slotGate = new();
    private int _freeSlots;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationTokenRegistration _wake;
    private readonly Thread[] _workers;
    private int _next = -1;
    private int _consumed;

    /// <summary>Starts <paramref name="workers"/> threads producing <paramref name="sources"/>.</summary>
    /// <param name="sources">What to produce, in the order it will be consumed.</param>
    /// <param name="workers">Worker threads (at least 1, at most one per source).</param>
    /// <param name="depth">Sources in flight at most (at least <paramref name="workers"/>).</param>
    /// <param name="chunksPerItem">Full chunks a pipe holds before its producer waits.</param>
    /// <param name="cancellation">Stops the workers and makes the consumer throw.</param>
    public SourcePrefetcher(IReadOnlyList<TensorSource> sources, int workers, int depth, int chunksPerItem = 4, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunksPerItem, 1);
        _sources = [.. sources];
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        workers = Math.Max(1, Math.Min(workers, _sources.Length));
        _freeSlots = Math.Max(depth, workers);

        // Every source in flight holds at most chunksPerItem queued chunks and the one it fills, and the consumer
        // the one it writes: the arena covers that bound, so the pipes never need the fallback pool.
        _arena = new ChunkArena((Math.Min(_freeSlots, _sources.Length) * (chunksPerItem + 1)) + 1, ChunkBytes);
        _pipes = new Pipe[_sources.Length];
        for (int i = 0; i < _pipes.Length; i++)
        {
            _pipes[i] = new Pipe(chunksPerItem, _arena, _stop.Token);
        }

        _wake = _stop.Token.Register(static state => ((SourcePrefetcher)state!).WakeAll(), this);
        _workers = new Thread[_sources.Length == 0 ? 0 : workers];
        for (int w = 0; w < _workers.Length; w++)
        {
            _workers[w] = new Thread(Work) { IsBackground = true, Name = $"t2n prefetch {w}" };
            _workers[w].Start();
        }
    }

    /// <summary>Number of sources.</summary>
    public int Count => _sources.Length;

    /// <summary>
    /// Source <paramref name="index"/> as the consumer sees it: same dtype and shape, and a
    /// <see cref="TensorSource.WriteTo"/> that copies what the worker produced (waiting for it). Write them in order,
    /// each once. <see cref="TensorSource.Open"/> opens the original source.
    /// </summary>
    public TensorSource this[int index] => new Prefetched(this, index);

    /// <summary>Stops the workers, waits for them and returns every buffer.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        foreach (Thread t in _workers)
        {
            t.Join();
        }

        _wake.Dispose();
        foreach (Pipe p in _pipes)
        {
            p.Release();
        }

        _stop.Dispose();
    }

    private void Work()
    {
        CancellationToken stop = _stop.Token;
        while (true)
        {
            lock (_slotGate)
            {
                while (_freeSlots == 0 && !stop.IsCancellationRequested)
                {
                    Monitor.Wait(_slotGate);
                }

                if (stop.IsCancellationRequested)
                {
                    return;
                }

                _freeSlots--;
            }

            int i = Interlocked.Increment(ref _next);
            if (i >= _sources.Length)
            {
                return;
            }

            Pipe pipe = _pipes[i];
            try
            {
                _sources[i].WriteTo(pipe.Writer);
                pipe.Complete();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                pipe.Fail(ExceptionDispatchInfo.Capture(new OperationCanceledException(stop)));
                return;
            }
            catch (Exception e)
            {
                pipe.Fail(ExceptionDispatchInfo.Capture(e));
            }
        }
    }

    private void Drain(int index, Stream destination)
    {
        if (index != _consumed)
        {
            throw new InvalidOperationException($"Prefetched sources are written in order, once each: expected {_consumed}, got {index}.");
        }

        _pipes[index].DrainTo(destination);
        _consumed++;
        lock (_slotGate)
        {
            _freeSlots++;
            Monitor.Pulse(_slotGate);
        }
    }

    private void WakeAll()
    {
        lock (_slotGate)
        {
            Monitor.PulseAll(_slotGate);
        }

        foreach (Pipe p in _pipes)
        {
            p.Wake();
        }
    }

    /// <summary>The consumer's view of one source.</summary>
    private sealed class Prefetched(SourcePrefetcher owner, int index) : TensorSource
    {
        public override DType DType => owner._sources[index].DType;

        public override Shape Shape => owner._sources[index].Shape;

        public override Tensor Open() => owner._sources[index].Open();

        public override void WriteTo(Stream destination) => owner.Drain(index, destination);
    }

    /// <summary>
    /// A bounded single-producer, single-consumer byte pipe of chunks from the prefetcher's arena. The producer writes through
    /// <see cref="Writer"/> and waits while <c>capacity</c> full chunks are queued; the consumer drains in order.
    /// </summary>
    private sealed class Pipe
    {
        private readonly Queue<(ArraySegment<byte> Buffer, int Length)> _chunks = new();
        private readonly object _gate = new();
        private readonly int _capacity;
        private readonly ChunkArena _arena;
        private readonly CancellationToken _stop;
        private ExceptionDispatchInfo? _error;
        private bool _completed;

        public Pipe(int capacity, ChunkArena arena, CancellationToken stop)
        {
            _capacity = capacity;
            _arena = arena;
            _stop = stop;
            Writer = new PipeWriter(this);
        }

        public PipeWriter Writer { get; }

        public void Complete()
        {
            Writer.FlushChunk();
            lock (_gate)
            {
                _completed = true;
                Monitor.PulseAll(_gate);
            }
        }

        public void Fail(ExceptionDispatchInfo error)
        {
            lock (_gate)
            {
                _error = error;
                _completed = true;
                Monitor.PulseAll(_gate);
            }
        }

        public void Wake()
        {
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }
        }

        public void DrainTo(Stream destination)
        {
            while (true)
            {
                (ArraySegment<byte> Buffer, int Length) chunk;
                lock (_gate)
                {
                    while (_chunks.Count == 0 && !_completed)
                    {
                        _stop.ThrowIfCancellationRequested();
                        Monitor.Wait(_gate);
                    }

                    if (_chunks.Count == 0)
                    {
                        _error?.Throw();
                        return;
                    }

                    chunk = _chunks.Dequeue();
                    Monitor.PulseAll(_gate);
                }

                try
                {
                    destination.Write(chunk.Buffer.Array!, chunk.Buffer.Offset, chunk.Length);
                }
                finally
                {
                    _arena.Return(chunk.Buffer);
                }
            }
        }

        /// <summary>Returns the chunks nobody will drain (after the workers stopped).</summary>
        public void Release()
        {
            Writer.ReturnCurrent();
            lock (_gate)
            {
                while (_chunks.TryDequeue(out (ArraySegment<byte> Buffer, int Length) chunk))
                {
                    _arena.Return(chunk.Buffer);
                }
            }
        }

        private void Enqueue(ArraySegment<byte> buffer, int length)
        {
            lock (_gate)
            {
                while (_chunks.Count >= _capacity)
                {
                    if (_stop.IsCancellationRequested)
                    {
                        _arena.Return(buffer);
                        _stop.ThrowIfCancellationRequested();
                    }

                    Monitor.Wait(_gate);
                }

                _chunks.Enqueue((buffer, length));
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>
        /// The producer's stream: fills a chunk, queues it when full. As an <see cref="IBufferWriter{T}"/> it also lends
        /// the rest of its current chunk (or a fresh one) so that a producer can write straight into it (the Q4_0
        /// quantizer does), without a copy.
        /// </summary>
        public sealed class PipeWriter(Pipe pipe) : WriteOnlyStream, IBufferWriter<byte>
        {
            private ArraySegment<byte> _current;
            private int _filled;

            public override void Write(ReadOnlySpan<byte> buffer)
            {
                pipe._stop.ThrowIfCancellationRequested();
                while (!buffer.IsEmpty)
                {
                    if (_current.Array is null)
                    {
                        _current = pipe._arena.Rent(ChunkBytes);
                    }

                    int n = Math.Min(buffer.Length, ChunkBytes - _filled);
                    buffer[..n].CopyTo(_current.AsSpan(_filled));
                    _filled += n;
                    buffer = buffer[n..];
                    if (_filled == ChunkBytes)
                    {
                        FlushChunk();
                    }
                }
            }

            /// <summary>
            /// The free part of the current chunk when it holds <paramref name="sizeHint"/> bytes, else a new chunk (the
            /// current one is queued first) of <see cref="ChunkBytes"/>, or larger when the hint asks for more.
            /// </summary>
            public Memory<byte> GetMemory(int sizeHint = 0)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
                pipe._stop.ThrowIfCancellationRequested();
                sizeHint = Math.Max(sizeHint, 1);
                if (_current.Array is not null && _current.Count - _filled < sizeHint)
                {
                    FlushChunk();
                }

                if (_current.Array is null)
                {
                    _current = pipe._arena.Rent(sizeHint);
                }

                return _current.AsMemory(_filled);
            }

            /// <inheritdoc />
            public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

            /// <summary>Counts <paramref name="count"/> bytes written into the memory <see cref="GetMemory"/> lent; a full chunk is queued.</summary>
            public void Advance(int count)
            {
                if (count == 0)
                {
                    return;
                }

                if (_current.Array is null || count < 0 || count > _current.Count - _filled)
                {
                    throw new ArgumentOutOfRangeException(nameof(count), count, "more bytes than the buffer lent by GetMemory holds");
                }

                _filled += count;
                if (_filled >= ChunkBytes)
                {
                    FlushChunk();
                }
            }

            internal void FlushChunk()
            {
                if (_current.Array is null || _filled == 0)
                {
                    return;
                }

                ArraySegment<byte> full = _current;
                int length = _filled;
                _current = default;
                _filled = 0;
                pipe.Enqueue(full, length);
            }

            internal void ReturnCurrent()
            {
                if (_current.Array is not null)
                {
                    pipe._arena.Return(_current);
                    _current = default;
                    _filled = 0;
                }
            }
        }
    }
}
