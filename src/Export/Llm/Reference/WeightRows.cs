using System.Runtime.InteropServices;
using TorchToNnef.Quant;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm.Reference;

/// <summary>
/// Reads rows of a 2-D float weight (f32, f16, bf16) of a checkpoint, or of a Q4_0 weight of an archive (dequantized
/// exactly, <c>(code - 8) · scale</c>), as f32, straight from the file, optionally rounded to f16 (what a weight becomes
/// in an f16 export, and what tract's f16 kernels make of a Q4_0 weight). Rows are streamed a window at a time with positional reads
/// into a per-thread buffer, so a whole model passes through a few MiB of memory. Reads, not mapped windows: on this
/// VM a page fault per 4 KiB costs about 4x the CPU of copying the same bytes from the page cache (measured 0.77 vs
/// 0.18 CPU-seconds per GB), and the pass is bound by how fast weights arrive.
/// </summary>
internal sealed class WeightRows
{
    // Bytes read per window: large enough that a read costs nothing next to the arithmetic, small enough that every
    // core gets many windows of a layer.
    private const int TargetWindowBytes = 1 << 20;

    private readonly Tensor _tensor;

    public WeightRows(Tensor tensor, bool roundToHalf)
    {
        if (tensor.Shape.Rank is not (1 or 2))
        {
            throw new ArgumentException($"Expected a 1-D or 2-D weight, got {tensor}.", nameof(tensor));
        }

        _tensor = tensor;
        RoundToHalf = roundToHalf && tensor.DType != DType.F16; // f16 weights are already f16
        Rows = tensor.Shape.Rank == 2 ? checked((int)tensor.Shape[0]) : 1;
        Columns = checked((int)tensor.Shape[tensor.Shape.Rank - 1]);
        if (tensor.DType.IsBlockQuantized() && Columns % Q40Format.GroupSize != 0)
        {
            throw new ArgumentException($"Q4_0 rows must hold whole blocks, got {tensor}.", nameof(tensor));
        }

        RowBytes = tensor.DType.IsBlockQuantized()
            ? Columns / Q40Format.GroupSize * Q40Format.BlockBytes
            : Columns * tensor.DType.ElementSize();
    }

    public int Rows { get; }

    public int Columns { get; }

    public int RowBytes { get; }

    public bool RoundToHalf { get; }

    /// <summary>Rows per window.</summary>
    public int RowsPerWindow => Math.Clamp(TargetWindowBytes / Math.Max(1, RowBytes), 1, Rows);

    /// <summary>All values (small tensors: norms, biases).</summary>
    public float[] ReadAll()
    {
        var values = new float[Rows * Columns];
        byte[] bytes = new byte[(long)Rows * RowBytes];
        _tensor.Data.Read(0, bytes);
        Convert(bytes, values);
        return values;
    }

    /// <summary>Copies row <paramref name="row"/> into <paramref name="destination"/> with a positional read.</summary>
    public void ReadRow(int row, Span<float> destination, Span<byte> scratch)
    {
        _tensor.Data.Read((long)row * RowBytes, scratch[..RowBytes]);
        Convert(scratch[..RowBytes], destination[..Columns]);
    }

    /// <summary>Bytes of one window (the size of the byte buffer <see cref="ForEachRow"/> needs).</summary>
    public int WindowBytes => RowsPerWindow * RowBytes;

    /// <summary>
    /// Runs <paramref name="consume"/> on every row of <c>[first, first + count)</c> (at most <see cref="RowsPerWindow"/>)
    /// as f32: the rows are read into <paramref name="bytes"/>, then f32 rows not rounded are passed as they are and
    /// others converted into <paramref name="buffer"/>.
    /// </summary>
    public void ForEachRow(int first, int count, byte[] bytes, float[] buffer, RowAction consume)
    {
        if (count > RowsPerWindow)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"At most {RowsPerWindow} rows per window.");
        }

        _tensor.Data.Read((long)first * RowBytes, bytes.AsSpan(0, count * RowBytes));
        for (int r = 0; r < count; r++)
        {
            ReadOnlySpan<byte> raw = bytes.AsSpan(r * RowBytes, RowBytes);
            if (_tensor.DType == DType.F32 && !RoundToHalf)
            {
                consume(first + r, MemoryMarshal.Cast<byte, float>(raw));
            }
            else
            {
                Convert(raw, buffer);
                consume(first + r, buffer.AsSpan(0, Columns));
            }
        }
    }

    private void Convert(ReadOnlySpan<byte> raw, Span<float> destination)
    {
        int count;
        if (_tensor.DType.IsBlockQuantized())
        {
            count = raw.Length / Q40Format.BlockBytes * Q40Format.GroupSize;
            Q40Dequantizer.ToSingle(raw, destination[..count]);
        }
        else
        {
            count = raw.Length / _tensor.DType.ElementSize();
            FloatConversions.ToSingle(_tensor.DType, raw, destination);
        }

        if (RoundToHalf)
        {
            HalfRounding.Round(destination[..count]);
        }
    }

    /// <summary>Receives one row.</summary>
    public delegate void RowAction(int row, ReadOnlySpan<float> values);
}
