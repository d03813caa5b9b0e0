using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.Quant;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// The raw Q4_0 blocks of a block-quantized constant (tract's <c>BlockQuantValue</c>): per group of 32 consecutive
/// values of the row-major flattened tensor, an f16 scale and 16 bytes of 4-bit codes, <c>w = (code - 8) * scale</c>.
/// The blocks stay compressed for the value's life: products read them re-laid as <see cref="Q40Panels"/> (the same
/// bytes, built once by <see cref="PreparePanels"/>, after which the row layout is dropped), and every other reader
/// decodes only the range it needs.
/// </summary>
public sealed class BlockQuantData
{
    private readonly object _gate = new();
    private byte[]? _blocks;
    private Q40Panels? _panels;
    private bool _released;

    /// <summary>Wraps <see cref="DType.Q40"/> blocks (GGML nibble order, the one Q4_0 form in memory).</summary>
    /// <exception cref="ArgumentException">A partial block.</exception>
    public BlockQuantData(byte[] blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Length % DTypeInfo.Q40BlockBytes != 0)
        {
            throw new ArgumentException($"{blocks.Length} bytes is not a whole number of Q4_0 blocks.", nameof(blocks));
        }

        _blocks = blocks;
        ElementCount = blocks.Length / DTypeInfo.Q40BlockBytes * DTypeInfo.Q40BlockElements;
    }

    /// <summary>
    /// Wraps blocks already re-laid as <paramref name="panels"/> (rows of <see cref="Q40Panels.Columns"/> values), built
    /// straight from a tensor's bytes without keeping a row-layout copy.
    /// </summary>
    internal BlockQuantData(Q40Panels panels)
    {
        _panels = panels;
        ElementCount = checked(panels.Rows * panels.Columns);
    }

    /// <summary>Number of values held.</summary>
    public int ElementCount { get; }

    /// <summary>The blocks re-laid as panels of rows, once <see cref="PreparePanels"/> has run; null before.</summary>
    internal Q40Panels? Panels => Volatile.Read(ref _panels);

    /// <summary>
    /// Re-lays the blocks as <see cref="Q40Panels"/> with rows of <paramref name="columns"/> values (a matrix product's
    /// summed axis) and drops the row layout. Returns false (and changes nothing) when the rows are not whole blocks or
    /// the panels already use another row length.
    /// </summary>
    internal bool PreparePanels(int columns)
    {
        if (columns <= 0 || columns % DTypeInfo.Q40BlockElements != 0 || ElementCount % columns != 0)
        {
            return false;
        }

        lock (_gate)
        {
            ThrowIfReleased();
            if (_panels is not null)
            {
                return _panels.Columns == columns;
            }

            var panels = Q40Panels.FromRowBlocks(_blocks!, ElementCount / columns, columns);
            Volatile.Write(ref _panels, panels);
            Volatile.Write(ref _blocks, null);
            return true;
        }
    }

    /// <summary>
    /// Dequantizes values <c>[start, start + destination.Length)</c> to f32, exactly as tract does
    /// (<c>(code - 8) * scale</c> is exact in f32). Both bounds must fall on 32-value block boundaries.
    /// </summary>
    public void DequantizeF32(int start, Span<float> destination)
    {
        CheckRange(start, destination.Length);
        Dequantize(start, destination, roundToHalf: false);
    }

    /// <summary>
    /// Dequantizes to f16 as tract's f16 kernels and <c>gather(datum_type = 'f16')</c> do: the exact product
    /// <c>(code - 8) * scale</c> rounded once to f16.
    /// </summary>
    public void DequantizeF16(int start, Span<Half> destination)
    {
        CheckRange(start, destination.Length);
        if (Volatile.Read(ref _blocks) is byte[] blocks)
        {
            Q40Dequantizer.ToHalf(BlocksOf(blocks, start, destination.Length), destination);
            return;
        }

        float[] values = new float[destination.Length];
        Dequantize(start, values, roundToHalf: true);
        for (int i = 0; i < values.Length; i++)
        {
            destination[i] = (Half)values[i];
        }
    }

    /// <summary>
    /// Values <c>[start, start + destination.Length)</c> (any range inside the tensor) as f32: exact, or each rounded to
    /// f16 when <paramref name="roundToHalf"/>.
    /// </summary>
    internal void Dequantize(int start, Span<float> destination, bool roundToHalf)
    {
        if (start < 0 || destination.Length > ElementCount - start)
        {
            throw new InvalidGraphException(null, $"Q4_0 range [{start}, {start + destination.Length}) is outside the {ElementCount} values");
        }

        // The panels are published before the row layout is dropped, so one of the two is always there (until released).
        if (Volatile.Read(ref _blocks) is not byte[] blocks)
        {
            Q40Panels panels = Panels ?? throw Released();
            int done = 0;
            while (done < destination.Length)
            {
                int row = (start + done) / panels.Columns;
                int column = (start + done) % panels.Columns;
                int n = Math.Min(panels.Columns - column, destination.Length - done);
                panels.DecodeRow(row, column, destination.Slice(done, n), roundToHalf);
                done += n;
            }

            return;
        }

        const int G = DTypeInfo.Q40BlockElements;
        int first = start / G * G;
        int end = (start + destination.Length + G - 1) / G * G;
        if (first == start && end == start + destination.Length && !roundToHalf)
        {
            Q40Dequantizer.ToSingle(BlocksOf(blocks, start, destination.Length), destination);
            return;
        }

        float[] covering = new float[end - first];
        if (roundToHalf)
        {
            var halves = new Half[covering.Length];
            Q40Dequantizer.ToHalf(BlocksOf(blocks, first, covering.Length), halves);
            for (int i = 0; i < halves.Length; i++)
            {
                covering[i] = (float)halves[i];
            }
        }
        else
        {
            Q40Dequantizer.ToSingle(BlocksOf(blocks, first, covering.Length), covering);
        }

        covering.AsSpan(start - first, destination.Length).CopyTo(destination);
    }

    /// <summary>
    /// Gives up the panels (for their storage to be reused, <see cref="Q40PanelStore"/>) once nothing reads this value any
    /// more; any later read throws. Returns null when there are none (row layout only, or already released).
    /// </summary>
    internal Q40Panels? ReleasePanels()
    {
        lock (_gate)
        {
            Q40Panels? panels = _panels;
            if (panels is not null)
            {
                _released = true;
                Volatile.Write(ref _panels, null);
            }

            return panels;
        }
    }

    private void ThrowIfReleased()
    {
        if (_released)
        {
            throw Released();
        }
    }

    private static InvalidOperationException Released() =>
        new("a Q4_0 weight was read after its run released it (its panel storage went to another weight)");

    private static ReadOnlySpan<byte> BlocksOf(byte[] blocks, int start, int count) =>
        blocks.AsSpan(start / DTypeInfo.Q40BlockElements * DTypeInfo.Q40BlockBytes, count / DTypeInfo.Q40BlockElements * DTypeInfo.Q40BlockBytes);

    private void CheckRange(int start, int count)
    {
        if (start % DTypeInfo.Q40BlockElements != 0 || count % DTypeInfo.Q40BlockElements != 0 || start < 0 || count < 0 || start > ElementCount - count)
        {
            throw new InvalidGraphException(null, $"Q4_0 range [{start}, {start + count}) is not block-aligned inside the {ElementCount} values");
        }
    }
}
