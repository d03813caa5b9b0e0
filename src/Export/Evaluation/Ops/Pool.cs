using System.Numerics;
using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// Pooling primitives (<c>deser.rs</c> <c>max_pool_with_index</c>, <c>sum_pool</c>): <c>size</c>, <c>stride</c> and
/// <c>dilation</c> list every axis and must be 1 on N and C; <c>padding</c> lists every axis (only the spatial pairs
/// are used) or is empty for same-upper; border <c>'constant'</c> or <c>'ignore'</c>, padded cells excluded either way.
/// <c>max_pool_with_index</c> returns the maximum and the flat input index of the first maximal cell; <c>box</c> sums
/// (divided by the count of cells inside the input when <c>normalize</c>).
/// </summary>
internal static class Pool
{
    public static void Register(OpRegistry nnef)
    {
        nnef.Primitive("max_pool_with_index", MaxPool);
        nnef.Primitive("box", Box);
    }

    private static Window Geometry(Invocation inv, TensorValue x)
    {
        int[] size = inv.Ints("size");
        if (x.Rank < 3 || size.Length != x.Rank)
        {
            throw new InvalidGraphException(null, $"pool input {x} must be NC+spatial and size [{string.Join(", ", size)}] must list every axis");
        }

        string border = inv.String("border");
        if (border is not ("constant" or "ignore"))
        {
            throw new UnsupportedFeatureException(null, null, $"pool border '{border}' (tract accepts 'constant' and 'ignore')");
        }

        int[] stride = AllAxes(inv.Ints("stride"), x.Rank, "stride");
        int[] dilation = AllAxes(inv.Ints("dilation"), x.Rank, "dilation");
        if (size[0] != 1 || size[1] != 1)
        {
            throw new InvalidGraphException(null, "pool size must be 1 on the N and C axes");
        }

        int[] kernel = size[2..];
        int[] input = x.ShapeArray[2..];
        (int[] before, int[] output) = Window.Padding(inv.Pairs("padding"), input, kernel, stride, dilation, 2);
        return new Window(x.Shape[0], x.Shape[1], input, kernel, stride, dilation, before, output);
    }

    private static int[] AllAxes(int[] values, int rank, string what)
    {
        if (values.Length == 0)
        {
            return Enumerable.Repeat(1, rank - 2).ToArray();
        }

        if (values.Length != rank || values[0] != 1 || values[1] != 1 || values.Any(v => v <= 0))
        {
            throw new InvalidGraphException(null, $"pool {what} [{string.Join(", ", values)}] must list every axis with 1 on N and C");
        }

        return values[2..];
    }

    private static TupleOperand MaxPool(Invocation inv)
    {
        TensorValue x = inv.Tensor("input");
        Window g = Geometry(inv, x);
        int planes = g.Batch * g.Channels;
        if (g.Input.Length <= 2 && x.Type == DatumType.F32)
        {
            return MaxPool2(inv, x, g, planes);
        }

        double[] values = Cast.ToDoubles(x.Type.IsQuantized ? x.WithType(x.Type.Unquantized) : x);
        var best = new int[planes * g.OutVolume];
        var index = new long[best.Length];
        if (g.Input.Length <= 2)
        {
            Plane2 p = Plane2.Of(g);
            for (int plane = 0; plane < planes; plane++)
            {
                int inBase = plane * g.InVolume;
                int outBase = plane * g.OutVolume;
                for (int oy = 0; oy < p.OH; oy++)
                {
                    for (int ox = 0; ox < p.OW; ox++)
                    {
                        int found = WindowArgMax<double>(values, p, inBase, oy, ox);
                        int o = outBase + (oy * p.OW) + ox;
                        best[o] = found;
                        index[o] = found;
                    }
                }
            }

            int[] shape2 = g.OutputShape(g.Channels);
            return new TupleOperand([inv.Result(Layout.Take(x, shape2, best)), inv.Result(TensorValue.Wrap(DatumType.I64, shape2, index))]);
        }

        for (int plane = 0; plane < planes; plane++)
        {
            int inBase = plane * g.InVolume;
            for (int o = 0; o < g.OutVolume; o++)
            {
                int[] origin = g.Origin(o);
                int found = -1;
                for (int k = 0; k < g.KernelVolume; k++)
                {
                    int src = g.InputIndex(origin, k, out bool inside);
                    if (inside && (found < 0 || Beats(values[inBase + src], values[found])))
                    {
                        found = inBase + src;
                    }
                }

                if (found < 0)
                {
                    throw new InvalidGraphException(null, "a pooling window lies entirely in the padding");
                }

                best[(plane * g.OutVolume) + o] = found;
                index[(plane * g.OutVolume) + o] = found;
            }
        }

        int[] shape = g.OutputShape(g.Channels);
        TensorValue output = Layout.Take(x, shape, best);
        return new TupleOperand([inv.Result(output), inv.Result(TensorValue.Wrap(DatumType.I64, shape, index))]);
    }

    // f32 with one or two spatial axes: the same window walk and comparisons as WindowArgMax (a float widens to double
    // exactly), with each output row's and column's range of cells inside the input worked out once rather than tested
    // per cell, and both outputs from the tensor pool (the index output is rarely read: max_pool discards it).
    private static TupleOperand MaxPool2(Invocation inv, TensorValue x, Window g, int planes)
    {
        float[] values = Cast.To(x, DatumType.F32).Items<float>();
        float[] maxima = TensorPool.Allocate<float>(planes * g.OutVolume);
        long[] index = TensorPool.Allocate<long>(maxima.Length);
        Plane2 p = Plane2.Of(g);
        var columns = new (int First, int End)[p.OW];
        for (int ox = 0; ox < p.OW; ox++)
        {
            columns[ox] = Inside((ox * p.SX) - p.PadLeft, p.DX, p.KW, p.W);
        }

        for (int oy = 0; oy < p.OH; oy++)
        {
            int iy0 = (oy * p.SY) - p.PadTop;
            (int kyFirst, int kyEnd) = Inside(iy0, p.DY, p.KH, p.H);
            for (int ox = 0; ox < p.OW; ox++)
            {
                if (planes > 0 && (kyFirst >= kyEnd || columns[ox].First >= columns[ox].End))
                {
                    throw new InvalidGraphException(null, "a pooling window lies entirely in the padding");
                }
            }

            for (int plane = 0; plane < planes; plane++)
            {
                int inBase = plane * g.InVolume;
                int outRow = (plane * g.OutVolume) + (oy * p.OW);
                for (int ox = 0; ox < p.OW; ox++)
                {
                    (int kxFirst, int kxEnd) = columns[ox];
                    int ix0 = (ox * p.SX) - p.PadLeft;
                    int found = inBase + ((iy0 + (kyFirst * p.DY)) * p.W) + ix0 + (kxFirst * p.DX);
                    float best = values[found];
                    for (int ky = kyFirst; ky < kyEnd; ky++)
                    {
                        int rowBase = inBase + ((iy0 + (ky * p.DY)) * p.W) + ix0;
                        for (int kx = ky == kyFirst ? kxFirst + 1 : kxFirst; kx < kxEnd; kx++)
                        {
                            int cell = rowBase + (kx * p.DX);
                            float v = values[cell];
                            if (Beats(v, best))
                            {
                                best = v;
                                found = cell;
                            }
                        }
                    }

                    maxima[outRow + ox] = best;
                    index[outRow + ox] = found;
                }
            }
        }

        int[] shape = g.OutputShape(g.Channels);
        return new TupleOperand([inv.Result(TensorValue.Wrap(DatumType.F32, shape, maxima)), inv.Result(TensorValue.Wrap(DatumType.I64, shape, index))]);
    }

    // The kernel taps [First, End) whose cell start + tap · dilation lies in [0, extent): contiguous, as the cell grows with the tap.
    private static (int First, int End) Inside(int start, int dilation, int taps, int extent)
    {
        int first = 0;
        while (first < taps && start + (first * dilation) < 0)
        {
            first++;
        }

        int end = first;
        while (end < taps && start + (end * dilation) < extent)
        {
            end++;
        }

        return (first, end);
    }

    // The first maximal cell of output (oy, ox)'s window in the plane at inBase (padded cells skipped); a window lying
    // entirely in the padding is an error. One walk for the f32 path and the widened-to-double path.
    private static int WindowArgMax<T>(ReadOnlySpan<T> values, Plane2 p, int inBase, int oy, int ox)
        where T : IFloatingPointIeee754<T>
    {
        int found = -1;
        int iy0 = (oy * p.SY) - p.PadTop;
        int ix0 = (ox * p.SX) - p.PadLeft;
        for (int ky = 0; ky < p.KH; ky++)
        {
            int iy = iy0 + (ky * p.DY);
            if (iy < 0 || iy >= p.H)
            {
                continue;
            }

            int rowBase = inBase + (iy * p.W);
            for (int kx = 0; kx < p.KW; kx++)
            {
                int ix = ix0 + (kx * p.DX);
                if (ix >= 0 && ix < p.W && (found < 0 || Beats(values[rowBase + ix], values[found])))
                {
                    found = rowBase + ix;
                }
            }
        }

        return found >= 0 ? found : throw new InvalidGraphException(null, "a pooling window lies entirely in the padding");
    }

    // Whether a later cell replaces the maximum so far: strictly greater, or a number where the maximum so far is NaN.
    private static bool Beats<T>(T candidate, T best)
        where T : IFloatingPointIeee754<T> =>
        candidate > best || (T.IsNaN(best) && !T.IsNaN(candidate));

    private static TensorOperand Box(Invocation inv)
    {
        TensorValue x = inv.Tensor("input");
        Window g = Geometry(inv, x);
        bool normalize = inv.Bool("normalize");
        if (!x.Type.IsFloat)
        {
            throw new UnsupportedFeatureException(null, null, $"box on {x.Type}");
        }

        float[] values = Cast.To(x, DatumType.F32).Items<float>();
        int planes = g.Batch * g.Channels;
        float[] result = TensorPool.Allocate<float>(planes * g.OutVolume);
        if (g.Input.Length <= 2)
        {
            // The same sum as below (cells in order, padding skipped), without per-position index arrays.
            Plane2 p = Plane2.Of(g);
            for (int plane = 0; plane < planes; plane++)
            {
                ReadOnlySpan<float> src = values.AsSpan(plane * g.InVolume, g.InVolume);
                Span<float> dst = result.AsSpan(plane * g.OutVolume, g.OutVolume);
                for (int oy = 0; oy < p.OH; oy++)
                {
                    int iy0 = (oy * p.SY) - p.PadTop;
                    for (int ox = 0; ox < p.OW; ox++)
                    {
                        int ix0 = (ox * p.SX) - p.PadLeft;
                        float sum = 0;
                        int count = 0;
                        for (int ky = 0; ky < p.KH; ky++)
                        {
                            int iy = iy0 + (ky * p.DY);
                            if (iy < 0 || iy >= p.H)
                            {
                                continue;
                            }

                            for (int kx = 0; kx < p.KW; kx++)
                            {
                                int ix = ix0 + (kx * p.DX);
                                if (ix >= 0 && ix < p.W)
                                {
                                    sum += src[(iy * p.W) + ix];
                                    count++;
                                }
                            }
                        }

                        dst[(oy * p.OW) + ox] = normalize ? (count == 0 ? float.NaN : sum / count) : sum;
                    }
                }
            }

            return inv.Result(Cast.To(TensorValue.Wrap(DatumType.F32, g.OutputShape(g.Channels), result), x.Type));
        }

        for (int plane = 0; plane < planes; plane++)
        {
            int inBase = plane * g.InVolume;
            for (int o = 0; o < g.OutVolume; o++)
            {
                int[] origin = g.Origin(o);
                float sum = 0;
                int count = 0;
                for (int k = 0; k < g.KernelVolume; k++)
                {
                    int src = g.InputIndex(origin, k, out bool inside);
                    if (inside)
                    {
                        sum += values[inBase + src];
                        count++;
                    }
                }

                result[(plane * g.OutVolume) + o] = normalize ? (count == 0 ? float.NaN : sum / count) : sum;
            }
        }

        return inv.Result(Cast.To(TensorValue.Wrap(DatumType.F32, g.OutputShape(g.Channels), result), x.Type));
    }

    // One or two spatial axes as a 2-D window (one axis: height 1).
    private readonly record struct Plane2(int H, int W, int KH, int KW, int SY, int SX, int DY, int DX, int PadTop, int PadLeft, int OH, int OW)
    {
        public static Plane2 Of(Window g) => g.Input.Length == 1
            ? new Plane2(1, g.Input[0], 1, g.Kernel[0], 1, g.Stride[0], 1, g.Dilation[0], 0, g.PadBefore[0], 1, g.Output[0])
            : new Plane2(g.Input[0], g.Input[1], g.Kernel[0], g.Kernel[1], g.Stride[0], g.Stride[1], g.Dilation[0], g.Dilation[1], g.PadBefore[0], g.PadBefore[1], g.Output[0], g.Output[1]);
    }
}
