namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// The storage of one operand of a float product as the kernels read it: f32 values, f16 values (widened exactly), or
/// Q4_0 blocks (decoded exactly, or rounded to f16 for an f16 product).
/// </summary>
internal sealed class OperandSource
{
    private OperandSource(float[]? single, Half[]? half, BlockQuantData? q40, bool roundToHalf)
    {
        Single = single;
        Half = half;
        Q40 = q40;
        RoundToHalf = roundToHalf;
    }

    public float[]? Single { get; }

    public Half[]? Half { get; }

    public BlockQuantData? Q40 { get; }

    public bool RoundToHalf { get; }

    public static OperandSource Of(float[] values) => new(values, null, null, false);

    public static OperandSource Of(Half[] values) => new(null, values, null, false);

    public static OperandSource Of(BlockQuantData blocks, bool roundToHalf) => new(null, null, blocks, roundToHalf);

    /// <summary>A strided view of the storage.</summary>
    public MatrixOperand View(int offset, int xStride, int pStride) =>
        Single is not null ? MatrixOperand.OfSingle(Single, offset, xStride, pStride)
        : Half is not null ? MatrixOperand.OfHalf(Half, offset, xStride, pStride)
        : MatrixOperand.OfQ40(Q40!, RoundToHalf, offset, xStride, pStride);

    /// <summary>All values as f32 (a copy unless already f32; used only for layouts no view can express).</summary>
    public float[] ToSingle()
    {
        if (Single is not null)
        {
            return Single;
        }

        if (Half is not null)
        {
            var f = new float[Half.Length];
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(Half, f);
            return f;
        }

        var q = new float[Q40!.ElementCount];
        Q40.Dequantize(0, q, RoundToHalf);
        return q;
    }
}
