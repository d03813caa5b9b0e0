using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// <c>softmax(x, axes = [1])</c> (a primitive in tract; the stdlib body is not used): per slice over <c>axes</c>,
/// <c>m = max</c>, <c>e = exp(x − m)</c>, <c>s = Σ e</c> (f32), <c>y = e · (1 / s)</c>. f16 values take the maximum and
/// the exponentials in f16 (each rounded), sum in f32 and multiply by the f16-rounded reciprocal.
/// </summary>
internal static class Softmax
{
    public static void Register(OpRegistry nnef, OpRegistry core)
    {
        nnef.Primitive("softmax", Run);
        core.Primitive("tract_core_softmax", Run);
    }

    private static TensorOperand Run(Invocation inv)
    {
        TensorValue x = inv.Tensor("x");
        int[] axes = inv.Ints("axes");
        if (!x.Type.IsFloat)
        {
            throw new UnsupportedFeatureException(null, null, $"softmax on {x.Type}");
        }

        (int[] shape, int[] map) = Reduce.Plan(x, axes);
        int n = TensorValue.Volume(shape);
        return inv.Result(x.Type.Kind switch
        {
            DatumKind.F16 => Half16(x, map, n),
            DatumKind.F64 => Cast.To(Single(Cast.To(x, DatumType.F32), map, n), DatumType.F64),
            _ => Single(x, map, n),
        });
    }

    private static TensorValue Single(TensorValue x, int[] map, int n)
    {
        float[] v = x.Items<float>();
        var max = new float[n];
        Array.Fill(max, float.NegativeInfinity);
        for (int i = 0; i < v.Length; i++)
        {
            max[map[i]] = Math.Max(max[map[i]], v[i]);
        }

        var e = new float[v.Length];
        var sum = new float[n];
        for (int i = 0; i < v.Length; i++)
        {
            e[i] = MathF.Exp(v[i] - max[map[i]]);
            sum[map[i]] += e[i];
        }

        for (int i = 0; i < e.Length; i++)
        {
            e[i] *= 1f / sum[map[i]];
        }

        return TensorValue.Wrap(DatumType.F32, x.ShapeArray, e);
    }

    private static TensorValue Half16(TensorValue x, int[] map, int n)
    {
        Half[] v = x.Items<Half>();
        var max = new Half[n];
        Array.Fill(max, Half.NegativeInfinity);
        for (int i = 0; i < v.Length; i++)
        {
            max[map[i]] = v[i] > max[map[i]] ? v[i] : max[map[i]];
        }

        var e = new Half[v.Length];
        var sum = new float[n];
        for (int i = 0; i < v.Length; i++)
        {
            e[i] = (Half)MathF.Exp((float)(v[i] - max[map[i]]));
            sum[map[i]] += (float)e[i];
        }

        var r = new Half[v.Length];
        for (int i = 0; i < e.Length; i++)
        {
            r[i] = e[i] * (Half)(1f / sum[map[i]]);
        }

        return TensorValue.Wrap(DatumType.F16, x.ShapeArray, r);
    }
}
