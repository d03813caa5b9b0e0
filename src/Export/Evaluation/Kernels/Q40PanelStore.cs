namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// Storage of <see cref="Q40Panels"/> given back when a run released its weight, handed out again to the next matrix
/// of the same size. An evaluator that re-reads its weights on every run (<see cref="EvaluationOptions.ReleaseWeightsAfterUse"/>)
/// would otherwise allocate the whole model's panels per run, a weight at a time, as pinned garbage that the collector
/// reclaims only when its budget for large objects runs out: a 7B model's verification peaked at 797 MB of resident
/// memory for at most ~100 MB of weights alive at once. With the store, a run allocates only the panels alive at once
/// (a decoder's layers repeat the same few shapes), and later runs nothing.
/// </summary>
/// <remarks>
/// It keeps, per size, as many arrays as were alive at once: what the run needed at its peak, not more. Thread-safe.
/// </remarks>
internal sealed class Q40PanelStore
{
    private readonly Dictionary<long, Stack<(byte[] Codes, ushort[] Scales)>> _free = [];
    private readonly object _gate = new();

    /// <summary>Bytes of panel storage this store allocated (not handed out again).</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>Bytes of panel storage held free for the next matrices.</summary>
    public long FreeBytes { get; private set; }

    /// <summary>Storage for <paramref name="records"/> (panel, block) records: a returned one of that size, else new.</summary>
    public (byte[] Codes, ushort[] Scales) Rent(long records)
    {
        lock (_gate)
        {
            if (_free.TryGetValue(records, out Stack<(byte[], ushort[])>? stack) && stack.TryPop(out (byte[] Codes, ushort[] Scales) kept))
            {
                FreeBytes -= Bytes(kept);
                return kept;
            }
        }

        (byte[] Codes, ushort[] Scales) made = Q40Panels.NewStorage(records);
        lock (_gate)
        {
            AllocatedBytes += Bytes(made);
        }

        return made;
    }

    /// <summary>Takes back the storage of <paramref name="panels"/>, which nothing may read afterwards.</summary>
    public void Return(Q40Panels panels)
    {
        (byte[] Codes, ushort[] Scales) storage = panels.Storage;
        lock (_gate)
        {
            if (!_free.TryGetValue(panels.Records, out Stack<(byte[], ushort[])>? stack))
            {
                _free[panels.Records] = stack = new Stack<(byte[], ushort[])>();
            }

            stack.Push(storage);
            FreeBytes += Bytes(storage);
        }
    }

    private static long Bytes((byte[] Codes, ushort[] Scales) storage) => storage.Codes.LongLength + (storage.Scales.LongLength * sizeof(ushort));
}
