using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// <c>tract_core_gather(input, indices, axis, datum_type)</c>, numpy <c>take</c>: indices cast to i64 (negative ones
/// wrap for plain data), output shape <c>input[:axis] + indices.shape + input[axis+1:]</c>. A Q4_0 table needs
/// <c>axis = 0</c> and <c>datum_type</c> (<c>'f32'</c>: exact, <c>'f16'</c>: rounded per value); plain data with
/// <c>datum_type</c> must already have that type.
/// </summary>
internal static class Gather
{
    public static void Register(OpRegistry core) =>
        core.Primitive("tract_core_gather", Run);

    private static TensorOperand Run(Invocation inv)
    {
        TensorValue input = inv.Tensor("input");
        TensorValue indexValues = inv.Tensor("indices");
        long[] indices = Cast.ToLongs(Cast.To(indexValues, DatumType.I64));
        int[] indexShape = indexValues.ShapeArray;
        int axis = inv.Int("axis");
        Operand? dtArg = inv.Find("datum_type");
        DatumType? outputType = dtArg is null or BoolOperand { Value: false }
            ? null
            : DatumType.TryParse(Coerce.ToStringValue(dtArg, "datum_type"), out DatumType t) ? t : throw new InvalidGraphException(null, "unknown datum_type");
        if (axis < 0 || axis >= input.Rank)
        {
            throw new InvalidGraphException(null, $"gather axis {axis} is outside rank {input.Rank}");
        }

        int dim = input.Shape[axis];
        int outer = TensorValue.Volume(input.ShapeArray.AsSpan(0, axis));
        int inner = TensorValue.Volume(input.ShapeArray.AsSpan(axis + 1));
        int[] shape = [.. input.ShapeArray.AsSpan(0, axis), .. indexShape, .. input.ShapeArray.AsSpan(axis + 1)];
        if (input.BlockQuant is BlockQuantData bq)
        {
            return inv.Result(GatherBlockQuant(bq, indices, dim, inner, axis, outputType, shape));
        }

        if (outputType is DatumType requested && requested != input.Type)
        {
            throw new InvalidGraphException(null, $"gather datum_type {requested} differs from the input type {input.Type}");
        }

        // One block copy of `inner` values per (outer index, gathered index).
        Array from = input.Data!;
        Array data = input.Type.Kind == DatumKind.F32
            ? TensorPool.Allocate<float>(TensorValue.Volume(shape))
            : TensorValue.NewArray(input.Type.Kind, TensorValue.Volume(shape));
        int p = 0;
        for (int o = 0; o < outer; o++)
        {
            foreach (long raw in indices)
            {
                long idx = raw < 0 ? raw + dim : raw;
                if (idx < 0 || idx >= dim)
                {
                    throw new InvalidGraphException(null, $"gather index {raw} is out of range for axis {axis} of size {dim}");
                }

                Array.Copy(from, ((o * (long)dim) + idx) * inner, data, p, inner);
                p += inner;
            }
        }

        return inv.Result(TensorValue.Wrap(input.Type, shape, data));
    }

    private static TensorValue GatherBlockQuant(BlockQuantData bq, long[] indices, int rows, int rowSize, int axis, DatumType? outputType, int[] shape)
    {
        if (axis != 0)
        {
            throw new UnsupportedFeatureException(null, null, "gather on Q4_0 data works on axis 0 only");
        }

        if (outputType is not DatumType type || type.Kind is not (DatumKind.F32 or DatumKind.F16))
        {
            throw new InvalidGraphException(null, "gather applied to Q4_0 data requires datum_type 'f32' or 'f16'");
        }

        if (rowSize % 32 != 0)
        {
            throw new InvalidGraphException(null, $"Q4_0 rows of {rowSize} values are not whole blocks");
        }

        var f32 = type.Kind == DatumKind.F32 ? new float[indices.Length * rowSize] : null;
        var f16 = type.Kind == DatumKind.F16 ? new Half[indices.Length * rowSize] : null;
        for (int i = 0; i < indices.Length; i++)
        {
            long idx = indices[i];
            if (idx < 0 || idx >= rows)
            {
                throw new InvalidGraphException(null, $"gather index {idx} is out of range for {rows} rows");
            }

            int start = checked((int)idx * rowSize);
            if (f32 is not null)
            {
                bq.DequantizeF32(start, f32.AsSpan(i * rowSize, rowSize));
            }
            else
            {
                bq.DequantizeF16(start, f16.AsSpan(i * rowSize, rowSize));
            }
        }

        return f32 is not null ? TensorValue.Wrap(DatumType.F32, shape, f32) : TensorValue.Wrap(DatumType.F16, shape, f16!);
    }
}
