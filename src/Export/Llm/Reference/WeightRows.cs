using System.Runtime.InteropServices;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm.Reference;

/// <summary>
/// Reads rows of a 2-D float weight (f32, f16, bf16) as f32 straight from its memory-mapped bytes, optionally
/// rounded to f16 (what a weight becomes in an f16 export). Rows are read through short-lived windows of the mapping,
/// so streaming a whole model touches each page once and never keeps more than a window per thread resident.
/// </summary>
internal sealed class WeightRows
{
    // Bytes mapped per window: large enough that mapping costs nothing next to the arithmetic, small enough that
    // every core gets many windows of a layer.
    private const int WindowBytes = 1 << 20;

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
        RowBytes = Columns * tensor.DType.ElementSize();
    }

    public int Rows { get; }

    public int Columns { get; }

    public int RowBytes { get; }

    public bool RoundToHalf { get; }

    /// <summary>Rows per window.</summary>
    public int RowsPerWindow => Math.Clamp(WindowBytes / Math.Max(1, RowBytes), 1, Rows);

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

    /// <summary>
    /// Runs <paramref name="consume"/> on every row of <c>[first, first + count)</c> as f32, through one mapped window.
    /// f32 rows not rounded are passed without a copy; others are converted into <paramref name="buffer"/>.
    /// </summary>
    public void ForEachRow(int first, int count, float[] buffer, RowAction consume)
    {
        long offset = (long)first * RowBytes;
        int length = checked(count * RowBytes);
        using TensorWindow? window = _tensor.Data.OpenWindow(offset, length);
        ReadOnlySpan<byte> bytes = window is not null
            ? window.Span
            : _tensor.Data.TryGetSpan(out ReadOnlySpan<byte> all) ? all.Slice((int)offset, length)
            : throw new InvalidOperationException("Weight payload is neither mappable nor addressable.");
        for (int r = 0; r < count; r++)
        {
            ReadOnlySpan<byte> raw = bytes.Slice(r * RowBytes, RowBytes);
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
        FloatConversions.ToSingle(_tensor.DType, raw, destination);
        if (RoundToHalf)
        {
            HalfRounding.Round(destination[..(raw.Length / _tensor.DType.ElementSize())]);
        }
    }

    /// <summary>Receives one row.</summary>
    public delegate void RowAction(int row, ReadOnlySpan<float> values);
}
