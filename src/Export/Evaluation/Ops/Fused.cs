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
        core.UnitElementWise("tract_core_hard_swish", inv => inv.Result(Map<HardSwishOperator>(inv.PositionalTensor(0).Value, "hard_swish")));
        core.Primitive("tract_core_log_softmax", LogSoftmax);
        foreach ((OpRegistry registry, string prefix) in new[] { (core, "tract_core_"), (transformers, "tract_transformers_") })
        {
            registry.Primitive(prefix + "silu", inv => inv.Result(Map<SiluOperator>(inv.Tensor("input"), "silu")));
            registry.Primitive(prefix + "rms_norm", RmsNorm);
        }

        transformers.Primitive("tract_transformers_apply_rope", ApplyRope);
    }

    // f32 through the operator struct; f16 computed in f32 on widened values and rounded once.
    private static TensorValue Map<TOp>(TensorValue x, string what)
        where TOp : struct, IUnaryOperator<float>
    {
        if (x.Type.Kind is not (DatumKind.F32 or DatumKind.F16))
        {
            throw new UnsupportedFeatureException(null, null, $"{what} on {x.Type}");
        }

        float[] v = Cast.To(x, DatumType.F32).Items<float>();
        var y = new float[v.Length];
        ElementWiseLoops.Run<TOp, float>(KernelWidths.Active, v, y);
        return Cast.To(TensorValue.Wrap(DatumType.F32, x.ShapeArray, y), x.Type);
    }

    /// <summary><c>x · clamp(x / 6 + 0.5, 0, 1)</c> in f32 (scalar form only).</summary>
    private readonly struct HardSwishOperator : IUnaryOperator<float>
    {
        public static bool IsVectorizable => false;

        public static float Invoke(float x) => x * Math.Clamp((x * (1f / 6f)) + 0.5f, 0f, 1f);

        public static System.Runtime.Intrinsics.Vector128<float> Invoke(System.Runtime.Intrinsics.Vector128<float> x) => throw ScalarOnly.NotVectorizable();

        public static System.Runtime.Intrinsics.Vector256<float> Invoke(System.Runtime.Intrinsics.Vector256<float> x) => throw ScalarOnly.NotVectorizable();

        public static System.Runtime.Intrinsics.Vector512<float> Invoke(System.Runtime.Intrinsics.Vector512<float> x) => throw ScalarOnly.NotVectorizable();
    }

    private static TensorOperand LogSoftmax(Invocation inv)
    {
        TensorValue x = inv.Tensor("x");
        if (!x.Type.IsFloat)
        {
            throw new UnsupportedFeatureException(null, null, $"log_softmax on {x.Type}");
        }

        int[] axes = inv.Ints("axes");
        TensorValue xf = Cast.To(x, DatumType.F32);
        (_, TensorValue source, int outer, int reduced, int inner) = Reduce.Plan(xf, axes);
        float[] v = source.Items<float>();
        var y = new float[v.Length];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int start = (o * reduced * inner) + i;
                float max = float.NegativeInfinity;
                for (int k = 0; k < reduced; k++)
                {
                    max = Math.Max(max, v[start + (k * inner)]);
                }

                float sum = 0;
                for (int k = 0; k < reduced; k++)
                {
                    sum += ExpKernel.Exp(v[start + (k * inner)] - max);
                }

                float log = MathF.Log(sum);
                for (int k = 0; k < reduced; k++)
                {
                    y[start + (k * inner)] = v[start + (k * inner)] - max - log;
                }
            }
        }

        TensorValue result = TensorValue.Wrap(DatumType.F32, source.ShapeArray, y);
        result = ReferenceEquals(source, xf) ? result : Softmax.Unpermute(result, x, axes);
        return inv.Result(Cast.To(result, x.Type));
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
        if (axis < 0 || axis >= x.Rank)
        {
            throw new InvalidGraphException(null, $"rms_norm axis is outside rank {x.Rank}");
        }

        float[] v = Cast.To(x, DatumType.F32).Items<float>();
        int outer = TensorValue.Volume(x.ShapeArray.AsSpan(0, axis));
        int reduced = x.Shape[axis];
        int inner = TensorValue.Volume(x.ShapeArray.AsSpan(axis + 1));
        float inv1 = 1f / reduced;
        var y = new float[v.Length];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int start = (o * reduced * inner) + i;
                float sumSq = 0;
                for (int k = 0; k < reduced; k++)
                {
                    float e = v[start + (k * inner)];
                    sumSq += e * e;
                }

                float scale = 1f / MathF.Sqrt((sumSq * inv1) + eps);
                for (int k = 0; k < reduced; k++)
                {
                    y[start + (k * inner)] = v[start + (k * inner)] * scale;
                }
            }
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
