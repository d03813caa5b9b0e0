namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>How a matrix operand stores its values.</summary>
internal enum OperandStorage
{
    /// <summary>f32 values.</summary>
    F32,

    /// <summary>f16 values, widened exactly when packed.</summary>
    F16,

    /// <summary>Q4_0 blocks (row layout or <see cref="Q40Panels"/>), decoded exactly (or rounded to f16) when used.</summary>
    Q40,

    /// <summary>A convolution's patch matrix (<see cref="ConvPatches"/>), packed from the padded input (x = output position, p = tap).</summary>
    ConvPatches,
}

/// <summary>
/// A strided view of one operand of a matrix product, read in place (no copy of the tensor): element (x, p), x a row of
/// A or a column of B and p the summed index, is value <c>Offset + x·XStride + p·PStride</c> of the storage. Transposed
/// operands are just other strides; the packing routines turn any layout into the kernels' panels.
/// </summary>
internal readonly struct MatrixOperand
{
    private MatrixOperand(OperandStorage storage, float[]? f32, Half[]? f16, BlockQuantData? q40, bool roundToHalf, int offset, int xStride, int pStride, ConvPatches? patches = null)
    {
        Patches = patches;
        Storage = storage;
        Single = f32;
        Half = f16;
        Q40 = q40;
        RoundToHalf = roundToHalf;
        Offset = offset;
        XStride = xStride;
        PStride = pStride;
    }

    /// <summary>Storage kind.</summary>
    public OperandStorage Storage { get; }

    /// <summary>The f32 values, for <see cref="OperandStorage.F32"/>.</summary>
    public float[]? Single { get; }

    /// <summary>The f16 values, for <see cref="OperandStorage.F16"/>.</summary>
    public Half[]? Half { get; }

    /// <summary>The Q4_0 data, for <see cref="OperandStorage.Q40"/>.</summary>
    public BlockQuantData? Q40 { get; }

    /// <summary>The patch matrix, for <see cref="OperandStorage.ConvPatches"/>.</summary>
    public ConvPatches? Patches { get; }

    /// <summary>For Q4_0: round each decoded weight to f16 (tract's f16 kernels), else use the exact f32 product.</summary>
    public bool RoundToHalf { get; }

    /// <summary>Index of element (0, 0).</summary>
    public int Offset { get; }

    /// <summary>Step between consecutive x.</summary>
    public int XStride { get; }

    /// <summary>Step between consecutive p.</summary>
    public int PStride { get; }

    /// <summary>An f32 view.</summary>
    public static MatrixOperand OfSingle(float[] data, int offset, int xStride, int pStride) => new(OperandStorage.F32, data, null, null, false, offset, xStride, pStride);

    /// <summary>An f16 view.</summary>
    public static MatrixOperand OfHalf(Half[] data, int offset, int xStride, int pStride) => new(OperandStorage.F16, null, data, null, false, offset, xStride, pStride);

    /// <summary>A Q4_0 view (strides in values of the flattened tensor).</summary>
    public static MatrixOperand OfQ40(BlockQuantData data, bool roundToHalf, int offset, int xStride, int pStride) =>
        new(OperandStorage.Q40, null, null, data, roundToHalf, offset, xStride, pStride);

    /// <summary>A convolution's patch matrix read as B (x = output position, p = tap).</summary>
    public static MatrixOperand OfPatches(ConvPatches patches) => new(OperandStorage.ConvPatches, null, null, null, false, 0, 1, 0, patches);

    /// <summary>The same view moved by <paramref name="delta"/> values (another batch item).</summary>
    public MatrixOperand Shifted(int delta) => Storage == OperandStorage.ConvPatches
        ? (delta == 0 ? this : throw new InvalidOperationException("a patch matrix cannot be shifted"))
        : new(Storage, Single, Half, Q40, RoundToHalf, Offset + delta, XStride, PStride);

    /// <summary>
    /// The Q4_0 panels when this view reads whole rows of them (x = panel row, p = column, starting at a row),
    /// with the first row it reads; null otherwise.
    /// </summary>
    public Q40Panels? PanelsByRow(out int firstRow)
    {
        firstRow = 0;
        if (Storage != OperandStorage.Q40 || Q40!.Panels is not Q40Panels panels || PStride != 1 || XStride != panels.Columns || Offset % panels.Columns != 0)
        {
            return null;
        }

        firstRow = Offset / panels.Columns;
        return panels;
    }
}

/// <summary>
/// A batched product <c>C[t] = A[t] · B[t]</c> (<c>M × K</c> times <c>K × N</c>): A's x is the row i, B's x the column j;
/// batch item t adds <see cref="ABatchOffsets"/>[t] and <see cref="BBatchOffsets"/>[t] to the operands' offsets (stride 0
/// broadcasts); C is row-major with row stride <see cref="Ldc"/>, item t at <see cref="COffsetOf"/>.
/// </summary>
internal sealed class GemmProblem
{
    /// <summary>Batch items.</summary>
    public int Batch { get; init; } = 1;

    /// <summary>Rows of C.</summary>
    public required int M { get; init; }

    /// <summary>Columns of C.</summary>
    public required int N { get; init; }

    /// <summary>Summed length.</summary>
    public required int K { get; init; }

    /// <summary>Left operand (x = row of C).</summary>
    public required MatrixOperand A { get; init; }

    /// <summary>Right operand (x = column of C).</summary>
    public required MatrixOperand B { get; init; }

    /// <summary>Per batch item offset added to A (null: none).</summary>
    public int[]? ABatchOffsets { get; init; }

    /// <summary>Per batch item offset added to B (null: none).</summary>
    public int[]? BBatchOffsets { get; init; }

    /// <summary>Output values.</summary>
    public required float[] C { get; init; }

    /// <summary>Row stride of C (0: N).</summary>
    public int Ldc { get; init; }

    /// <summary>Per batch item offset of C (null: consecutive <c>M × Ldc</c> matrices).</summary>
    public int[]? CBatchOffsets { get; init; }

    /// <summary>
    /// Optional value added to every element of row i of C once its product is complete
    /// (<c>c = round(round(product) + RowBias[RowBiasOffset + i])</c>, the same bits as a separate addition), while the
    /// block is still in cache. Null: none.
    /// </summary>
    public float[]? RowBias { get; init; }

    /// <summary>Index in <see cref="RowBias"/> of row 0's value.</summary>
    public int RowBiasOffset { get; init; }

    /// <summary>Effective row stride of C.</summary>
    public int RowStride => Ldc > 0 ? Ldc : N;

    /// <summary>Offset of batch item t in C.</summary>
    public int COffsetOf(int t) => CBatchOffsets?[t] ?? t * M * RowStride;

    /// <summary>A for batch item t.</summary>
    public MatrixOperand AOf(int t) => ABatchOffsets is null ? A : A.Shifted(ABatchOffsets[t]);

    /// <summary>B for batch item t.</summary>
    public MatrixOperand BOf(int t) => BBatchOffsets is null ? B : B.Shifted(BBatchOffsets[t]);
}
