namespace TorchToNnef.Tensors;

/// <summary>
/// A read-only, zero-copy window of a tensor payload (see <see cref="TensorData.OpenWindow"/>), valid until disposed.
/// For a memory-mapped file the window is its own mapping: disposing it unmaps the range, so streaming a large
/// tensor window by window neither copies it nor keeps its pages in the process's resident set.
/// </summary>
public abstract class TensorWindow : IDisposable
{
    /// <summary>The window's bytes; do not use after <see cref="Dispose()"/>.</summary>
    public abstract ReadOnlySpan<byte> Span { get; }

    /// <summary>Releases the window.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources; called once by <see cref="Dispose()"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
