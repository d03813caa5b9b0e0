using Microsoft.Win32.SafeHandles;
using TorchToNnef.IO;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>An open level-0 <c>.tgz</c> and its block index: decompressed bytes read by offset.</summary>
/// <param name="Handle">The open archive.</param>
/// <param name="Index">Where its stored blocks lie.</param>
internal sealed record StoredGzipFile(SafeFileHandle Handle, StoredGzipIndex Index)
{
    /// <summary>Copies decompressed bytes at <paramref name="offset"/>.</summary>
    public void Read(long offset, Span<byte> destination) => Index.Read(Handle, offset, destination);
}

/// <summary>
/// A payload inside a level-0 <c>.tgz</c>, read by offset through its <see cref="StoredGzipIndex"/>. Streaming
/// consumers (<see cref="TensorData.ForEachWindow{TState}"/>, the quantizer) read it in bounded windows straight
/// from the archive. A consumer that needs the whole payload as one span (the evaluator) gets a copy in an unnamed
/// temporary file, mapped — made once, on the first such request, and released with this object.
/// </summary>
internal sealed class StoredGzipPayload(StoredGzipFile archive, long offset, long length, string location) : TensorData
{
    private readonly Lock _lock = new();
    private MappedFile? _copy;

    public override long ByteLength => length;

    public override void Read(long offset1, Span<byte> destination)
    {
        CheckRange(offset1, destination.Length);
        archive.Read(offset + offset1, destination);
    }

    public override bool TryGetSpan(out ReadOnlySpan<byte> bytes)
    {
        if (length > int.MaxValue)
        {
            bytes = default;
            return false;
        }

        bytes = Copy().GetSpan(0, (int)length);
        return true;
    }

    public override TensorWindow? OpenWindow(long offset1, int length1)
    {
        CheckRange(offset1, length1);
        return _copy?.OpenWindow(offset1, length1);
    }

    protected override void Dispose(bool disposing) => _copy?.Dispose();

    private MappedFile Copy()
    {
        lock (_lock)
        {
            if (_copy is null)
            {
                ScratchFile spill = ScratchFile.Create();
                try
                {
                    ForEachWindow(0, length, DefaultWindowBytes, spill, static (window, s) => s.Append(window));
                    _copy = MappedFile.FromHandle(spill.Handle, 0, length, location, ownsHandle: true);
                }
                catch
                {
                    spill.Dispose();
                    throw;
                }
            }

            return _copy;
        }
    }
}
