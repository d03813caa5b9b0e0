using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// <c>tract_core_gather_elements(input, indices, axis)</c>, ONNX <c>GatherElements</c>: the output has the indices'
/// shape and <c>output[i] = input[i with axis coordinate replaced by indices[i]]</c>; indices are cast to i64, negative
/// ones count from the end of the axis, others out of range are an error.
/// </summary>
internal static class GatherElements
{
    public static void Register(OpRegistry core) => core.Primitive("tract_core_gather_elements", Run);

    private static TensorOperand Run(Invocation inv)
    {
        TensorValue input = inv.Tensor("input");
        TensorValue indexValues = inv.Tensor("indices");
        int axis = inv.Int("axis");
        axis = axis < 0 ? axis + input.Rank : axis;
        if (axis < 0 || axis >= input.Rank || indexValues.Rank != input.Rank)
        {
            throw new InvalidGraphException(null, $"gather_elements: axis {inv.Int("axis")}, input {input}, indices {indexValues}");
        }

        long[] indices = Cast.ToLongs(Cast.To(indexValues, DatumType.I64));
        int[] shape = indexValues.ShapeArray;
        int[] source = Map(input.ShapeArray, shape, indices, axis);
        return inv.Result(input.Data switch
        {
            float[] v => TensorValue.Create(input.Type, shape, Take(v, source)),
            Half[] v => TensorValue.Create(input.Type, shape, Take(v, source)),
            double[] v => TensorValue.Create(input.Type, shape, Take(v, source)),
            long[] v => TensorValue.Create(input.Type, shape, Take(v, source)),
            int[] v => TensorValue.Create(input.Type, shape, Take(v, source)),
            short[] v => TensorValue.Create(input.Type, shape, Take(v, source)),
            byte[] v => TensorValue.Create(input.Type, shape, Take(v, source)),
            sbyte[] v => TensorValue.Create(input.Type, shape, Take(v, source)),
            bool[] v => TensorValue.Create(input.Type, shape, Take(v, source)),
            _ => throw new UnsupportedFeatureException(null, null, $"gather_elements on {input.Type}"),
        });
    }

    // For each output element (row-major over the indices' shape), the flat input index it reads.
    private static int[] Map(int[] inShape, int[] outShape, long[] indices, int axis)
    {
        var inStrides = new int[inShape.Length];
        for (int i = inShape.Length - 1, acc = 1; i >= 0; i--)
        {
            inStrides[i] = acc;
            acc *= inShape[i];
        }

        var map = new int[indices.Length];
        var at = new int[outShape.Length];
        for (int n = 0; n < map.Length; n++)
        {
            long k = indices[n] < 0 ? indices[n] + inShape[axis] : indices[n];
            if (k < 0 || k >= inShape[axis])
            {
                throw new InvalidGraphException(null, $"gather_elements index {indices[n]} is outside axis {axis} of size {inShape[axis]}");
            }

            int flat = 0;
            for (int a = 0; a < at.Length; a++)
            {
                int coordinate = a == axis ? (int)k : at[a];
                if (coordinate >= inShape[a])
                {
                    throw new InvalidGraphException(null, $"gather_elements indices shape [{string.Join(", ", outShape)}] exceeds the input's [{string.Join(", ", inShape)}] on axis {a}");
                }

                flat += coordinate * inStrides[a];
            }

            map[n] = flat;
            for (int a = at.Length - 1; a >= 0; a--)
            {
                if (++at[a] < outShape[a])
                {
                    break;
                }

                at[a] = 0;
            }
        }

        return map;
    }

    private static T[] Take<T>(T[] source, int[] map)
    {
        var result = new T[map.Length];
        for (int i = 0; i < map.Length; i++)
        {
            result[i] = source[map[i]];
        }

        return result;
    }
}
