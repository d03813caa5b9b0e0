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
/// decodes only the range it needs. A value may also stay in its file (<see cref="FromSource"/>): then nothing is held
/// but the open tensor, readers read the blocks they need by offset, and a product may lay the panels of a block of
/// rows at a time (<see cref="LayRows"/>) instead of the whole matrix.
/// </summary>
public sealed class BlockQuantData
{
    private readonly object _gate = new();
    private byte[]? _blocks;
    private Q40Panels? _panels;
    private bool _released;

    // A value left in its file: the open tensor (row-major blocks), its rows of _sourceColumns values, and the store
    // panels laid from it are rented from.
    private Tensor? _source;
    private int _sourceColumns;
    private Q40PanelStore? _store;

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

    private BlockQuantData(Tensor source, int columns, Q40PanelStore? store)
    {
        _source = source;
        _sourceColumns = columns;
        _store = store;
        ElementCount = checked((int)source.ElementCount);
    }

    /// <summary>Number of values held.</summary>
    public int ElementCount { get; }

    /// <summary>
    /// A Q4_0 matrix of rows of <paramref name="columns"/> values (a multiple of 32) left in its file: the value holds
    /// <paramref name="source"/> open (and disposes it when released) and reads its blocks by offset when asked — rows
    /// for a gather, a block of rows re-laid for a product (<see cref="LayRows"/>), or the whole matrix laid as panels
    /// by a product that cannot take it a block at a time (<see cref="PreparePanels"/>), in storage from
    /// <paramref name="store"/>.
    /// </summary>
    internal static BlockQuantData FromSource(Tensor source, int columns, Q40PanelStore? store)
    {
        if (columns <= 0 || columns % Q40Panels.BlockColumns != 0 || source.ElementCount % columns != 0)
        {
            throw new ArgumentException($"Q4_0 rows of {columns} values do not divide {source}.", nameof(columns));
        }

        return new BlockQuantData(source, columns, store);
    }

    /// <summary>
    /// Rows of <paramref name="columns"/> values can be laid a block of rows at a time (<see cref="LayRows"/>): the value
    /// is still in its file, with rows of that length, and no whole-matrix panels were laid.
    /// </summary>
    internal bool StreamsRows(int columns)
    {
        lock (_gate)
        {
            return _source is not null && _panels is null && _blocks is null && !_released && columns == _sourceColumns;
        }
    }

    /// <summary>Rows of a value in its file (<see cref="StreamsRows"/>).</summary>
    internal int SourceRows => ElementCount / _sourceColumns;

    /// <summary>
    /// Lays rows <c>[firstRow, firstRow + rows)</c> of a value in its file as panels of their own (row 0 = firstRow),
    /// read from the file; give them back with <see cref="ReturnRows"/> when the product is done.
    /// </summary>
    internal Q40Panels LayRows(int firstRow, int rows)
    {
        Tensor source;
        lock (_gate)
        {
            ThrowIfReleased();
            source = _source ?? throw new InvalidOperationException("the Q4_0 value is not in its file");
        }

        return Q40Panels.FromRowBlocks(source.Data, firstRow * DType.Q40.ByteSize(_sourceColumns), rows, _sourceColumns, _store);
    }

    /// <summary>
    /// A value still in its file is laid whole as panels of its rows (as it was read before values could stay in their
    /// file), for readers that take it other than by whole rows (a product with it as left operand, a strided view).
    /// </summary>
    internal void EnsureInMemory()
    {
        bool inFile;
        lock (_gate)
        {
            inFile = _source is not null && _panels is null && _blocks is null;
        }

        if (inFile)
        {
            PreparePanels(_sourceColumns);
        }
    }

    /// <summary>Storage of panels from <see cref="LayRows"/> goes back to the store for the next block.</summary>
    internal void ReturnRows(Q40Panels panels) => _store?.Return(panels);

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

            if (_source is not null && _blocks is null && columns == _sourceColumns)
            {
                // The whole matrix from the file, as a product that cannot stream it needs (the source stays open for
                // nothing else: the panels hold every value).
                Volatile.Write(ref _panels, Q40Panels.FromRowBlocks(_source.Data, 0, ElementCount / columns, columns, _store));
                return true;
            }

            var panels = Q40Panels.FromRowBlocks(Blocks(), ElementCount / columns, columns);
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

        if (Panels is null && InFile() is Tensor source)
        {
            byte[] read = ReadBlocks(source, start, destination.Length);
            try
            {
                Q40Dequantizer.ToHalf(read.AsSpan(0, (int)DType.Q40.ByteSize(destination.Length)), destination);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(read);
            }

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

        // A value in its file: the blocks covering the range, read by offset.
        if (Volatile.Read(ref _blocks) is null && Panels is null && InFile() is Tensor source)
        {
            DequantizeFromFile(source, start, destination, roundToHalf);
            return;
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
            if (panels is not null || _source is not null)
            {
                _released = true;
                Volatile.Write(ref _panels, null);
            }

            // A value in its file closes it.
            _source?.Dispose();
            _source = null;
            return panels;
        }
    }

    private Tensor? InFile()
    {
        lock (_gate)
        {
            ThrowIfReleased();
            return _source;
        }
    }

    // The row layout, read whole from the file for a value still there (a reader no other path serves).
    private byte[] Blocks()
    {
        if (_blocks is byte[] blocks)
        {
            return blocks;
        }

        Tensor source = _source ?? throw Released();
        byte[] all = new byte[source.ByteLength];
        source.Data.Read(0, all);
        _blocks = all;
        return all;
    }

    // The blocks holding values [start, start + count) (start rounded down to a block), in a rented buffer.
    private static byte[] ReadBlocks(Tensor source, int start, int count)
    {
        const int G = DTypeInfo.Q40BlockElements;
        int first = start / G;
        int blocks = ((start + count + G - 1) / G) - first;
        byte[] read = System.Buffers.ArrayPool<byte>.Shared.Rent(blocks * DTypeInfo.Q40BlockBytes);
        source.Data.Read((long)first * DTypeInfo.Q40BlockBytes, read.AsSpan(0, blocks * DTypeInfo.Q40BlockBytes));
        return read;
    }

    private static void DequantizeFromFile(Tensor source, int start, Span<float> destination, bool roundToHalf)
    {
        const int G = DTypeInfo.Q40BlockElements;
        int first = start / G * G;
        int end = (start + destination.Length + G - 1) / G * G;
        byte[] read = ReadBlocks(source, start, destination.Length);
        float[] covering = System.Buffers.ArrayPool<float>.Shared.Rent(end - first);
        try
        {
            ReadOnlySpan<byte> bytes = read.AsSpan(0, (end - first) / G * DTypeInfo.Q40BlockBytes);
            Span<float> values = covering.AsSpan(0, end - first);
            Q40Dequantizer.ToSingle(bytes, values);
            if (roundToHalf)
            {
                // (code - 8) * scale is exact in f32: rounding it once gives the f16 decode.
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = (float)(Half)values[i];
                }
            }

            values.Slice(start - first, destination.Length).CopyTo(destination);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(read);
            System.Buffers.ArrayPool<float>.Shared.Return(covering);
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
