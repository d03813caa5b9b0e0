namespace TorchToNnef.Export.Llm.Reference;

/// <summary>
/// The reference pass's activation arrays, kept by exact length for the next layer: a decoder's layers ask for the
/// same few sizes, so a pass allocates one layer's activations instead of every layer's. Arrays are handed out with
/// unspecified contents (the caller writes every value). One pass at a time (not thread-safe).
/// </summary>
internal sealed class ActivationBuffers
{
    private readonly Dictionary<int, Stack<float[]>> _free = [];

    /// <summary>An array of exactly <paramref name="length"/> values: one given back earlier, else new.</summary>
    public float[] Take(int length) =>
        _free.TryGetValue(length, out Stack<float[]>? stack) && stack.TryPop(out float[]? kept) ? kept : GC.AllocateUninitializedArray<float>(length);

    /// <summary>Takes back an array nothing reads any more.</summary>
    public void Give(float[] array)
    {
        if (!_free.TryGetValue(array.Length, out Stack<float[]>? stack))
        {
            _free[array.Length] = stack = new Stack<float[]>();
        }

        stack.Push(array);
    }
}
