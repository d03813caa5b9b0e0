using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// <c>softmax(x, axes = [1])</c> (a primitive in tract; the stdlib body is not used): per slice over <c>axes</c>,
/// <c>m = max</c>, <c>e = exp(x − m)</c>, <c>s = Σ e</c> (f32), <c>y = e · (1 / s)</c>. f16 values take the maximum and
/// the exponentials in f16 (each rounded), sum in f32 and multiply by the f16-rounded reciprocal. f32 runs on
/// <see cref="SoftmaxKernels"/> (exp within 1 ulp, rows summed in the lane order).
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

        (_, TensorValue source, int outer, int reduced, int inner) = Reduce.Plan(x, axes);
        TensorValue result = x.Type.Kind switch
        {
            DatumKind.F16 => Half16(source, outer, reduced, inner),
            DatumKind.F64 => Cast.To(Single(Cast.To(source, DatumType.F32), outer, reduced, inner, inv), DatumType.F64),
            _ => Single(source, outer, reduced, inner, inv),
        };
        return inv.Result(ReferenceEquals(source, x) ? result.WithShape(x.ShapeArray) : Unpermute(result, x, axes));
    }

    // The plan moved the kept axes in front: put every axis back where it was.
    internal static TensorValue Unpermute(TensorValue permuted, TensorValue original, int[] axes)
    {
        int[] perm = [.. Enumerable.Range(0, original.Rank).Where(i => !axes.Contains(i)), .. Enumerable.Range(0, original.Rank).Where(axes.Contains)];
        int[] shape = perm.Select(p => original.Shape[p]).ToArray();
        var inverse = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++)
        {
            inverse[perm[i]] = i;
        }

        return Layout.Permute(permuted.WithShape(shape), inverse);
    }

    private static TensorValue Single(TensorValue x, int outer, int reduced, int inner, Invocation inv)
    {
        float[] v = x.Items<float>();
        float[] y = TensorPool.Allocate<float>(v.Length);
        int threads = Kernels.Gemm.Threads(inv.Context.ParallelOptions);
        if (inner == 1)
        {
            SoftmaxKernels.Rows(KernelWidths.Active, v, y, outer, reduced, threads);
        }
        else
        {
            SoftmaxKernels.Columns(KernelWidths.Active, v, y, outer, reduced, inner, threads);
        }

        return TensorValue.Wrap(DatumType.F32, x.ShapeArray, y);
    }

    // f16: maximum and exponentials in f16 (each rounded), sum in f32 along the axis, times the f16-rounded reciprocal.
    private static TensorValue Half16(TensorValue x, int outer, int reduced, int inner)
    {
        Half[] v = x.Items<Half>();
        var r = new Half[v.Length];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int start = (o * reduced * inner) + i;
                Half max = Half.NegativeInfinity;
                for (int k = 0; k < reduced; k++)
                {
                    Half value = v[start + (k * inner)];
                    max = value > max ? value : max;
                }

                float sum = 0;
                for (int k = 0; k < reduced; k++)
                {
                    Half e = (Half)ExpKernel.Exp((float)(v[start + (k * inner)] - max));
                    r[start + (k * inner)] = e;
                    sum += (float)e;
                }

                Half scale = (Half)(1f / sum);
                for (int k = 0; k < reduced; k++)
                {
                    r[start + (k * inner)] *= scale;
                }
            }
        }

        return TensorValue.Wrap(DatumType.F16, x.ShapeArray, r);
    }
}
