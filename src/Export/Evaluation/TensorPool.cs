namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// Reuses the storage of intermediate values within and across runs of one <see cref="GraphEvaluator"/>, so a run's
/// memory is its weights plus the values alive at once. Operators take output arrays of exact length from
/// <see cref="Allocate{T}"/>; every binding of a value in a scope holds a reference to its array, and when the last
/// binding goes (after the value's last consumer) the array returns to a free list for the next output of that type
/// and length. Arrays the run hands out (graph outputs), and arrays still bound anywhere when it ends, are forgotten:
/// the pool never reuses storage someone else may read — unless the caller gives the outputs back: then they are
/// leased until the next run begins (<see cref="EvaluationOptions.ReuseOutputStorage"/>). Free lists of sizes a run
/// did not ask for are dropped at its end, so shapes that change from run to run (a growing cache) do not accumulate.
/// </summary>
internal sealed class TensorPool
{
    // Shorter arrays are cheaper to allocate than to track: never handed out, so never looked up either.
    private const int PooledLength = 1024;

    [ThreadStatic]
    private static TensorPool? _current;

    private readonly Dictionary<(Type, int), Stack<Array>> _free = [];
    private readonly Dictionary<Array, int> _bindings = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<(Type, int)> _asked = [];
    private readonly List<Array> _leased = [];

    // Arrays handed out since the innermost open statement began (see Mark/Sweep), in order.
    private readonly List<Array> _handedOut = [];

    /// <summary>Bytes of storage in the free lists.</summary>
    public long FreeBytes { get; private set; }

    /// <summary>
    /// An array of exactly <paramref name="length"/> elements whose contents are unspecified (the caller writes every
    /// element): from the free list of the pool active on this thread, or new when there is none.
    /// </summary>
    public static T[] Allocate<T>(int length)
        where T : struct
    {
        TensorPool? pool = _current;
        if (pool is null || length < PooledLength)
        {
            return length == 0 ? [] : GC.AllocateUninitializedArray<T>(length);
        }

        var key = (typeof(T), length);
        pool._asked.Add(key);
        if (pool._free.TryGetValue(key, out Stack<Array>? stack) && stack.Count > 0)
        {
            var reused = (T[])stack.Pop();
            pool.FreeBytes -= (long)length * SizeOf(typeof(T));
            pool._bindings[reused] = 0;
            pool._handedOut.Add(reused);
            return reused;
        }

        T[] fresh = GC.AllocateUninitializedArray<T>(length);
        pool._bindings[fresh] = 0;
        pool._handedOut.Add(fresh);
        return fresh;
    }

    /// <summary>Where a statement begins: pass it to <see cref="Sweep"/> once the statement's results are bound.</summary>
    public int Mark() => _handedOut.Count;

    /// <summary>
    /// Ends a statement begun at <paramref name="mark"/>: storage handed out since then that nothing binds (an operator's
    /// scratch: f16 operands widened to f32, an f32 product before its rounding to f16, a value before its
    /// <c>graph.quant</c> cast) returns to the free lists for the next statements. Without it every such array was
    /// garbage, and in an f16 decoder that was most of what a run allocated — several MB per layer, large objects that
    /// only a full collection reclaims, so a deep model's run left hundreds of MB of them behind.
    /// A nested statement sweeps only what was handed out after its own mark, never what an enclosing operator still
    /// holds unbound (its output before it returns).
    /// </summary>
    public void Sweep(int mark)
    {
        for (int i = mark; i < _handedOut.Count; i++)
        {
            Array a = _handedOut[i];

            // Bound arrays are released by their last unbinding; forgotten ones (kept by an observer, folded constants)
            // and ones already back in the free lists are no longer tracked.
            if (_bindings.TryGetValue(a, out int n) && n == 0)
            {
                _bindings.Remove(a);
                Free(a);
            }
        }

        _handedOut.RemoveRange(mark, _handedOut.Count - mark);
    }

    /// <summary>Makes this pool the one <see cref="Allocate{T}"/> uses on this thread until the returned scope is disposed.</summary>
    public Activation Activate() => new(this);

    /// <summary>A value was bound to a name: its storage (if the pool handed it out) gains a reference.</summary>
    public void Bind(Operand? operand)
    {
        if (Storage(operand) is Array a && a.Length >= PooledLength && _bindings.TryGetValue(a, out int n))
        {
            _bindings[a] = n + 1;
        }
    }

    /// <summary>A binding went away: at zero references the storage returns to the free list.</summary>
    public void Unbind(Operand? operand)
    {
        if (Storage(operand) is not Array a || a.Length < PooledLength || !_bindings.TryGetValue(a, out int n))
        {
            return;
        }

        if (n > 1)
        {
            _bindings[a] = n - 1;
            return;
        }

        _bindings.Remove(a);
        Free(a);
    }

    private void Free(Array a)
    {
        var key = (a.GetType().GetElementType()!, a.Length);
        if (!_free.TryGetValue(key, out Stack<Array>? stack))
        {
            _free[key] = stack = new Stack<Array>();
        }

        stack.Push(a);
        FreeBytes += a.Length * (long)SizeOf(key.Item1);
    }

    /// <summary>Storage handed to someone outside the run (a <see cref="EvaluationOptions.ValueComputed"/> observer) is never reused.</summary>
    public void Forget(Operand? operand)
    {
        if (Storage(operand) is Array a)
        {
            _bindings.Remove(a);
        }
    }

    /// <summary>Starts a run: storage leased to the previous run's caller returns to the free lists.</summary>
    public void BeginRun()
    {
        foreach (Array a in _leased)
        {
            Free(a);
        }

        _leased.Clear();
    }

    /// <summary>
    /// Ends a run: the storage of <paramref name="leased"/> (outputs the caller lets go at the next run) is kept aside
    /// for <see cref="BeginRun"/>; other storage still bound (outputs handed to the caller, values of abandoned scopes)
    /// is forgotten, and free lists of sizes this run never asked for are dropped.
    /// </summary>
    public void EndRun(IReadOnlyList<NamedTensor>? leased = null)
    {
        if (leased is not null)
        {
            foreach (NamedTensor output in leased)
            {
                // Only storage this pool handed out, once even when two outputs share it.
                if (output.Value.Data is Array a && _bindings.Remove(a))
                {
                    _leased.Add(a);
                }
            }
        }

        _bindings.Clear();
        _handedOut.Clear();
        foreach ((Type, int) key in _free.Keys.ToList())
        {
            if (!_asked.Contains(key))
            {
                _free.Remove(key);
            }
        }

        _asked.Clear();
        FreeBytes = _free.Sum(kv => kv.Value.Count * (long)kv.Key.Item2 * SizeOf(kv.Key.Item1));
    }

    private static int SizeOf(Type element) =>
        element == typeof(bool) || element == typeof(byte) || element == typeof(sbyte) ? 1
        : element == typeof(Half) || element == typeof(short) || element == typeof(ushort) ? 2
        : element == typeof(int) || element == typeof(uint) || element == typeof(float) ? 4
        : 8;

    private static Array? Storage(Operand? operand) => operand is TensorOperand t ? t.Value.Data : null;

    /// <summary>Keeps a pool active on the current thread for a run.</summary>
    public readonly struct Activation : IDisposable
    {
        private readonly TensorPool? _previous;

        internal Activation(TensorPool pool)
        {
            _previous = _current;
            _current = pool;
        }

        /// <inheritdoc />
        public void Dispose() => _current = _previous;
    }
}
