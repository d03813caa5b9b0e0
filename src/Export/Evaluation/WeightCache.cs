using TorchToNnef.Ir;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// The weights of a loaded graph, opened once by the first run that reads them and kept for later runs: a variable's
/// source (a memory-mapped file, an archive member, a lazily quantized tensor) is opened, copied or wrapped once, and
/// its value — Q4_0 blocks stay compressed, re-laid as panels by the first product that reads them by rows — is
/// reused by every later run instead of being re-read (and re-quantized) each time.
/// </summary>
internal sealed class WeightCache
{
    private readonly Dictionary<(Variable, string), TensorValue> _values = [];
    private readonly object _gate = new();

    /// <summary>Number of weights held.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _values.Count;
            }
        }
    }

    /// <summary>
    /// The kept value of <paramref name="variable"/> read with <paramref name="shape"/> (a statement's declared shape), or
    /// the one <paramref name="open"/> makes (then kept).
    /// </summary>
    public TensorValue GetOrOpen(Variable variable, IReadOnlyList<long> shape, Func<TensorValue> open)
    {
        var key = (variable, string.Join(",", shape));
        lock (_gate)
        {
            if (_values.TryGetValue(key, out TensorValue? kept))
            {
                return kept;
            }
        }

        TensorValue value = open();
        lock (_gate)
        {
            return _values.TryAdd(key, value) ? value : _values[key];
        }
    }
}
