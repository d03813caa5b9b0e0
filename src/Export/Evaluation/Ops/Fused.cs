using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// Fused operators tract registers (tract-ops.md): <c>tract_core_hard_swish</c>, <c>tract_core_log_softmax</c>, and
/// the transformer ops under both their <c>tract_core_*</c> (&gt;= 0.23) and <c>tract_transformers_*</c> names:
/// silu (<c>x · sigmoid(x)</c> in f32), rms_norm (<c>x · rsqrt(mean(x², axis) + eps)</c> in f32, no weight) and
/// apply_rope (<c>x · cos + rotate_half(x) · sin</c>). f16 inputs are computed in f32 and rounded once.
/// </summary>
internal static class Fused
{
    public static void Register(OpRegistry core, OpRegistry transformers)
    {
        core.UnitElementWise("tract_core_hard_swish", inv => inv.Result(Map(inv.PositionalTensor(0).Value, static x => x * Math.Clamp((x * (1f / 6f)) + 0.5f, 0f, 1f), "hard_swish")));
        core.Primitive("tract_core_log_softmax", LogSoftmax);
        foreach ((OpRegistry registry, string prefix) in new[] { (core, "tract_core_"), (transformers, "tract_transformers_") })
        {
            registry.Primitive(prefix + "silu", inv => inv.Result(Map(inv.Tensor("input"), static x => x * Activations.Sigmoid(x), "silu")));
            registry.Primitive(prefix + "rms_norm", RmsNorm);
        }

        transformers.Primitive("tract_transformers_apply_rope", ApplyRope);
    }

    private static TensorValue Map(TensorValue x, Func<float, float> f, string what) => x.Type.Kind switch
    {
        DatumKind.F32 => TensorValue.Wrap(DatumType.F32, x.ShapeArray, Array.ConvertAll(x.Items<float>(), f.Invoke)),
        DatumKind.F16 => TensorValue.Wrap(DatumType.F16, x.ShapeArray, Array.ConvertAll(x.Items<Half>(), v => (Half)f((float)v))),
        _ => throw new UnsupportedFeatureException(null, null, $"{what} on {x.Type}"),
    };

    private static TensorOperand LogSoftmax(Invocation inv)
    {
        TensorValue x = inv.Tensor("x");
        if (!x.Type.IsFloat)
        {
            throw new UnsupportedFeatureException(null, null, $"log_softmax on {x.Type}");
        }

        (int[] shape, int[] map) = Reduce.Plan(x, inv.Ints("axes"));
        float[] v = Cast.To(x, DatumType.F32).Items<float>();
        int n = TensorValue.Volume(shape);
        var max = new float[n];
        Array.Fill(max, float.NegativeInfinity);
        for (int i = 0; i < v.Length; i++)
        {
            max[map[i]] = Math.Max(max[map[i]], v[i]);
        }

        var sum = new float[n];
        for (int i = 0; i < v.Length; i++)
        {
            sum[map[i]] += MathF.Exp(v[i] - max[map[i]]);
        }

        var y = new float[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            y[i] = v[i] - max[map[i]] - MathF.Log(sum[map[i]]);
        }

        return inv.Result(Cast.To(TensorValue.Wrap(DatumType.F32, x.ShapeArray, y), x.Type));
    }

    private static TensorOperand RmsNorm(Invocation inv)
    {
        TensorValue x = inv.Tensor("input");
        int axis = inv.Int("axis");
        float eps = inv.Float("eps");
        if (!x.Type.IsFloat)
        {
            throw new UnsupportedFeatureException(null, null, $"rms_norm on {x.Type}");
        }

        axis = axis < 0 ? axis + x.Rank : axis;
        (int[] shape, int[] map) = Reduce.Plan(x, [axis]);
        float[] v = Cast.To(x, DatumType.F32).Items<float>();
        var sumSq = new float[TensorValue.Volume(shape)];
        for (int i = 0; i < v.Length; i++)
        {
            sumSq[map[i]] += v[i] * v[i];
        }

        float inv1 = 1f / x.Shape[axis];
        var y = new float[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            y[i] = v[i] * (1f / MathF.Sqrt((sumSq[map[i]] * inv1) + eps));
        }

        return inv.Result(Cast.To(TensorValue.Wrap(DatumType.F32, x.ShapeArray, y), x.Type));
    }

    private static TensorOperand ApplyRope(Invocation inv)
    {
        TensorValue x = inv.Tensor("input");
        TensorValue cos = inv.Tensor("cos");
        TensorValue sin = inv.Tensor("sin");
        int d = x.Shape[^1];
        if (d % 2 != 0)
        {
            throw new InvalidGraphException(null, $"apply_rope needs an even last axis, got {x}");
        }

        // rotate_half(x) = concat(-x[..., d/2:], x[..., :d/2])
        TensorValue first = Shapes.SliceAxis(x, x.Rank - 1, 0, d / 2, 1);
        TensorValue second = Shapes.SliceAxis(x, x.Rank - 1, d / 2, d, 1);
        TensorValue rotated = Shapes.ConcatValues([Unary.Apply("neg", second), first], x.Rank - 1);
        int rank = Math.Max(x.Rank, Math.Max(cos.Rank, sin.Rank));
        TensorValue a = Binary.Evaluate(ArithOp.Mul, Layout.AppendUnitAxes(x, rank), Layout.AppendUnitAxes(Cast.To(cos, x.Type), rank));
        TensorValue b = Binary.Evaluate(ArithOp.Mul, Layout.AppendUnitAxes(rotated, rank), Layout.AppendUnitAxes(Cast.To(sin, x.Type), rank));
        return inv.Result(Binary.Evaluate(ArithOp.Add, a, b));
    }
}
