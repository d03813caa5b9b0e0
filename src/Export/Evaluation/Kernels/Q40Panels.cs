using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// A Q4_0 weight matrix <c>[rows, columns]</c> re-laid for matrix products, with exactly the bytes of its blocks
/// (18 per 32 values): rows in panels of 16; for each (panel, block of 32 columns) 16 f16 scales (one per row) and
/// four chunks of sixteen 32-bit lanes, lane <c>l</c> of chunk <c>q</c> holding the codes of row <c>16P + l</c> at
/// columns <c>32b + 8q .. 32b + 8q + 7</c> (nibble <c>t</c> = column <c>32b + 8q + t</c>).
/// <code>
///   chunk q, lane l (one 32-bit word):  | t=7 | t=6 | ... | t=1 | t=0 |   code of (row 16P+l, column 32b+8q+t)
///   codes: [panel][block][chunk 0..3][lane 0..15]   scales: [panel][block][lane 0..15]
/// </code>
/// A vector of 16 lanes then holds one column of 16 rows, which is what a product needs: one load gives the codes of
/// 16 outputs at 8 consecutive positions of the summed axis, decoded in registers (<c>w = (code - 8) · scale</c>,
/// exact in f32). Rows past <see cref="Rows"/> are padding with scale 0 and code 8.
/// </summary>
internal sealed class Q40Panels
{
    /// <summary>Rows per panel (lanes of a chunk).</summary>
    public const int PanelRows = 16;

    /// <summary>Columns per block.</summary>
    public const int BlockColumns = 32;

    /// <summary>Code bytes per (panel, block): 4 chunks of 16 lanes of 4 bytes.</summary>
    public const int RecordBytes = 256;

    private readonly byte[] _codes;
    private readonly int _codesStart;
    private readonly ushort[] _scales;

    private unsafe Q40Panels(int rows, int columns, Q40PanelStore? store = null)
    {
        Rows = rows;
        Columns = columns;
        BlocksPerRow = columns / BlockColumns;
        Panels = (rows + PanelRows - 1) / PanelRows;
        long records = (long)Panels * BlocksPerRow;
        if (records * RecordBytes + 64 > Array.MaxLength)
        {
            throw new InvalidOperationException($"a Q4_0 matrix of [{rows}, {columns}] is larger than one array can hold");
        }

        // Pinned and 64-byte aligned: a chunk is one cache line, loaded whole by the 512-bit kernels. Every byte is
        // written by Fill, so storage of an earlier matrix of the same size (a store's) serves as well as a new array.
        (_codes, _scales) = store?.Rent(records) ?? NewStorage(records);
        _codesStart = (int)((64 - ((nint)Unsafe.AsPointer(ref _codes[0]) & 63)) & 63);
    }

    /// <summary>Arrays for <paramref name="records"/> (panel, block) records: pinned codes with room to align, and scales.</summary>
    internal static (byte[] Codes, ushort[] Scales) NewStorage(long records) =>
        (GC.AllocateUninitializedArray<byte>((int)(records * RecordBytes) + 64, pinned: true), new ushort[records * PanelRows]);

    /// <summary>(panel, block) records held: the size class of the storage (<see cref="Q40PanelStore"/>).</summary>
    internal long Records => (long)Panels * BlocksPerRow;

    /// <summary>The storage, for <see cref="Q40PanelStore.Return"/> once nothing reads this matrix any more.</summary>
    internal (byte[] Codes, ushort[] Scales) Storage => (_codes, _scales);

    /// <summary>Rows of the matrix (outputs of a product with it).</summary>
    public int Rows { get; }

    /// <summary>Columns of the matrix (the summed axis of a product), a multiple of 32.</summary>
    public int Columns { get; }

    /// <summary>Blocks per row.</summary>
    public int BlocksPerRow { get; }

    /// <summary>Panels of 16 rows (the last one padded).</summary>
    public int Panels { get; }

    /// <summary>Bytes held (codes and scales, without the alignment slack): the size of the original blocks plus row padding.</summary>
    public long ByteLength => (long)Panels * PanelRows * BytesPerRow(Columns);

    /// <summary>Bytes panels take per row of <paramref name="columns"/> values: each block's share of a 256-byte code record and its f16 scale.</summary>
    public static long BytesPerRow(int columns) => (long)columns / BlockColumns * ((RecordBytes / PanelRows) + sizeof(ushort));

    /// <summary>
    /// Re-lays row-major Q4_0 blocks (GGML nibble order: byte j holds codes j and j + 16) of a <c>[rows, columns]</c>
    /// matrix.
    /// </summary>
    /// <exception cref="ArgumentException">Columns not a multiple of 32, or too few blocks.</exception>
    public static Q40Panels FromRowBlocks(ReadOnlySpan<byte> blocks, int rows, int columns)
    {
        int nb = CheckShape(rows, columns);
        if (blocks.Length < (long)rows * nb * 18)
        {
            throw new ArgumentException($"{blocks.Length} bytes hold fewer than the {(long)rows * nb} blocks of [{rows}, {columns}].", nameof(blocks));
        }

        var panels = new Q40Panels(rows, columns);
        panels.Fill(blocks, 0, panels.Panels);
        return panels;
    }

    /// <summary>
    /// Re-lays the row-major Q4_0 blocks held by <paramref name="data"/> (as <see cref="FromRowBlocks(ReadOnlySpan{byte}, int, int)"/>),
    /// reading them by offset a window of panels at a time: the source is never asked for one span over all of it, so a
    /// file-backed payload is neither mapped nor copied whole (its pages never enter the resident set) and the blocks
    /// pass through a buffer of about <see cref="TensorData.DefaultWindowBytes"/>. With a <paramref name="store"/>, the
    /// panels are laid in storage it hands out (that of a matrix of the same size released earlier) when it has some.
    /// </summary>
    /// <exception cref="ArgumentException">Columns not a multiple of 32, or too few blocks.</exception>
    public static Q40Panels FromRowBlocks(TensorData data, int rows, int columns, Q40PanelStore? store = null) =>
        FromRowBlocks(data, 0, rows, columns, store);

    /// <summary>
    /// As <see cref="FromRowBlocks(TensorData, int, int, Q40PanelStore?)"/>, for the <paramref name="rows"/> rows whose
    /// blocks start at byte <paramref name="byteOffset"/> of <paramref name="data"/> (a block of rows of a larger matrix).
    /// </summary>
    /// <exception cref="ArgumentException">Columns not a multiple of 32, or too few blocks.</exception>
    public static Q40Panels FromRowBlocks(TensorData data, long byteOffset, int rows, int columns, Q40PanelStore? store = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        int nb = CheckShape(rows, columns);
        long rowBytes = (long)nb * 18;
        if (byteOffset < 0 || data.ByteLength - byteOffset < rows * rowBytes)
        {
            throw new ArgumentException($"{data.ByteLength} bytes from {byteOffset} hold fewer than the {(long)rows * nb} blocks of [{rows}, {columns}].", nameof(data));
        }

        var panels = new Q40Panels(rows, columns, store);
        int panelsPerWindow = (int)Math.Clamp(TensorData.DefaultWindowBytes / (rowBytes * PanelRows), 1, panels.Panels);
        byte[] window = ArrayPool<byte>.Shared.Rent(checked((int)(panelsPerWindow * PanelRows * rowBytes)));
        try
        {
            for (int p = 0; p < panels.Panels; p += panelsPerWindow)
            {
                int count = Math.Min(panelsPerWindow, panels.Panels - p);
                int firstRow = p * PanelRows;
                int windowRows = Math.Min(count * PanelRows, rows - firstRow);
                Span<byte> bytes = window.AsSpan(0, (int)(windowRows * rowBytes));
                data.Read(byteOffset + (firstRow * rowBytes), bytes);
                panels.Fill(bytes, p, count);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(window);
        }

        return panels;
    }

    private static int CheckShape(int rows, int columns)
    {
        if (columns <= 0 || columns % BlockColumns != 0 || rows <= 0)
        {
            throw new ArgumentException($"Q4_0 panels need whole blocks per row, got [{rows}, {columns}].", nameof(columns));
        }

        return columns / BlockColumns;
    }

    // Lays out panels [firstPanel, firstPanel + count) from the row blocks of their rows (blocks starts at row
    // 16 * firstPanel and holds every row of those panels that exists).
    private void Fill(ReadOnlySpan<byte> blocks, int firstPanel, int count)
    {
        int nb = BlocksPerRow;
        Span<uint> chunks = stackalloc uint[4];
        for (int p = firstPanel; p < firstPanel + count; p++)
        {
            for (int b = 0; b < nb; b++)
            {
                Span<uint> lanes = MemoryMarshal.Cast<byte, uint>(CodesSpan(p, b));
                Span<ushort> scales = _scales.AsSpan(((p * nb) + b) * PanelRows, PanelRows);
                for (int l = 0; l < PanelRows; l++)
                {
                    int row = (p * PanelRows) + l;
                    if (row >= Rows)
                    {
                        scales[l] = 0;
                        chunks.Fill(0x8888_8888u);
                    }
                    else
                    {
                        long offset = ((((long)row - (firstPanel * PanelRows)) * nb) + b) * 18;
                        ReadOnlySpan<byte> block = blocks.Slice(checked((int)offset), 18);
                        scales[l] = BinaryPrimitives.ReadUInt16LittleEndian(block);
                        Chunks(block[2..], chunks);
                    }

                    for (int q = 0; q < 4; q++)
                    {
                        lanes[(q * PanelRows) + l] = chunks[q];
                    }
                }
            }
        }
    }

    /// <summary>The 256 code bytes of (panel, block); the blocks of a panel follow each other.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref byte Codes(int panel, int block) =>
        ref _codes[_codesStart + (int)(((long)panel * BlocksPerRow + block) * RecordBytes)];

    /// <summary>The 16 f16 scales of (panel, block); the blocks of a panel follow each other.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ushort Scales(int panel, int block) => ref _scales[((panel * BlocksPerRow) + block) * PanelRows];

    /// <summary>
    /// Scalar reference decode of <c>values.Length</c> consecutive values of one row from column <paramref name="column"/>:
    /// <c>(code - 8) · scale</c> in f32, or that product rounded to f16 when <paramref name="roundToHalf"/>.
    /// </summary>
    public void DecodeRow(int row, int column, Span<float> values, bool roundToHalf)
    {
        int panel = row / PanelRows;
        int lane = row % PanelRows;
        for (int i = 0; i < values.Length; i++)
        {
            int c = column + i;
            int block = c / BlockColumns;
            int pos = c % BlockColumns;
            uint word = Unsafe.As<byte, uint>(ref Unsafe.Add(ref Codes(panel, block), (((pos / 8) * PanelRows) + lane) * 4));
            int code = (int)((word >> (4 * (pos % 8))) & 15);
            float scale = (float)BitConverter.UInt16BitsToHalf(Unsafe.Add(ref Scales(panel, block), lane));
            float w = (code - 8) * scale;
            values[i] = roundToHalf ? (float)(Half)w : w;
        }
    }

    /// <summary>
    /// Writes back the row-major Q4_0 blocks (GGML nibble order) of rows <c>[row0, row0 + count)</c> (the inverse of
    /// <see cref="FromRowBlocks(ReadOnlySpan{byte}, int, int)"/>).
    /// </summary>
    public void ToRowBlocks(int row0, int count, Span<byte> blocks)
    {
        Span<byte> codes = stackalloc byte[BlockColumns];
        for (int r = 0; r < count; r++)
        {
            int row = row0 + r;
            int panel = row / PanelRows;
            int lane = row % PanelRows;
            for (int b = 0; b < BlocksPerRow; b++)
            {
                Span<byte> block = blocks.Slice(((r * BlocksPerRow) + b) * 18, 18);
                BinaryPrimitives.WriteUInt16LittleEndian(block, Unsafe.Add(ref Scales(panel, b), lane));
                for (int q = 0; q < 4; q++)
                {
                    uint word = Unsafe.As<byte, uint>(ref Unsafe.Add(ref Codes(panel, b), ((q * PanelRows) + lane) * 4));
                    for (int t = 0; t < 8; t++)
                    {
                        codes[(q * 8) + t] = (byte)((word >> (4 * t)) & 15);
                    }
                }

                for (int j = 0; j < 16; j++)
                {
                    block[2 + j] = (byte)(codes[j] | (codes[j + 16] << 4));
                }
            }
        }
    }

    private Span<byte> CodesSpan(int panel, int block) => MemoryMarshal.CreateSpan(ref Codes(panel, block), RecordBytes);

    // The four chunk words of one row of one block: word q holds codes 8q..8q+7, code 8q+t in nibble t.
    private static void Chunks(ReadOnlySpan<byte> packed, Span<uint> chunks)
    {
        // GGML order: byte j holds codes j (low) and j + 16 (high).
        ulong lo = BinaryPrimitives.ReadUInt64LittleEndian(packed);
        ulong hi = BinaryPrimitives.ReadUInt64LittleEndian(packed[8..]);
        chunks[0] = Extract(lo, 0x0F0F_0F0F_0F0F_0F0FUL);
        chunks[1] = Extract(hi, 0x0F0F_0F0F_0F0F_0F0FUL);
        chunks[2] = Extract(lo, 0xF0F0_F0F0_F0F0_F0F0UL);
        chunks[3] = Extract(hi, 0xF0F0_F0F0_F0F0_F0F0UL);
    }

    // The nibbles selected by the mask, packed together (pext).
    private static uint Extract(ulong value, ulong mask)
    {
        if (Bmi2.X64.IsSupported)
        {
            return (uint)Bmi2.X64.ParallelBitExtract(value, mask);
        }

        int shift = (mask & 0xF) != 0 ? 0 : 4;
        uint r = 0;
        for (int t = 0; t < 8; t++)
        {
            r |= (uint)((value >> ((8 * t) + shift)) & 0xF) << (4 * t);
        }

        return r;
    }
}
