using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// <c>Resize</c> and <c>Upsample</c> (modes <c>nearest</c> and <c>linear</c>) without a resize operator of tract's:
/// a nearest upsampling by integer factors whose source index is <c>o / factor</c> under the node's coordinate mode and
/// rounding (checked, not assumed) is a reshape, a broadcast and a reshape, valid on symbolic dimensions; any other
/// resize of an axis of known size is a product with a constant interpolation matrix <c>M[out, in]</c> built here with
/// ONNX's coordinate transformation, which is exact for both modes (each output is a fixed combination of at most two
/// inputs).
/// </summary>
internal static class ResizeOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["Resize"] = c => Resize(c, upsample: false);
        t["Upsample"] = c => Resize(c, upsample: true);
    }

    private sealed record Mode(string Interpolation, string Coordinates, string Rounding);

    private static void Resize(NodeContext c, bool upsample)
    {
        OnnxValue x = c.In(0);
        IReadOnlyList<Dim> dims = c.ShapeOfValue(x);
        int rank = dims.Count;
        bool legacy = upsample || c.Opset < 11;
        string interpolation = c.A.GetString("mode", "nearest") switch
        {
            "nearest" => "nearest",
            "linear" or "bilinear" or "trilinear" => "linear",
            string other => throw c.Unsupported($"mode '{other}' (nearest and linear only)"),
        };
        var mode = new Mode(
            interpolation,
            legacy ? "asymmetric" : c.A.GetString("coordinate_transformation_mode", "half_pixel"),
            legacy ? "floor" : c.A.GetString("nearest_mode", "round_prefer_floor"));
        if (c.A.GetInt("antialias", 0) != 0)
        {
            throw c.Unsupported("antialias");
        }

        if (mode.Coordinates == "tf_crop_and_resize")
        {
            throw c.Unsupported("coordinate_transformation_mode 'tf_crop_and_resize'");
        }

        if (c.A.GetString("keep_aspect_ratio_policy", "stretch") != "stretch")
        {
            throw c.Unsupported("keep_aspect_ratio_policy other than 'stretch'");
        }

        int[] axes = c.A.GetIntsOrNull("axes") is IReadOnlyList<long> given ? [.. given.Select(a => c.Axis(a, rank))] : [.. Enumerable.Range(0, rank)];
        (double[] scales, Dim[] outDims) = Targets(c, upsample, dims, axes);

        OnnxValue y = x;
        var factors = new long[rank];
        bool allByBroadcast = true;
        for (int i = 0; i < rank; i++)
        {
            factors[i] = 1;
            if (outDims[i] == dims[i])
            {
                continue;
            }

            if (mode.Interpolation == "nearest" && scales[i] >= 1 && scales[i] == Math.Floor(scales[i]) && IsRepeat(mode, (long)scales[i])
                && outDims[i] == dims[i] * (long)scales[i])
            {
                factors[i] = (long)scales[i];
            }
            else
            {
                allByBroadcast = false;
            }
        }

        if (factors.Any(f => f != 1))
        {
            y = Repeat(c, y, dims, factors, allByBroadcast ? c.Hint() : c.Hint() + "_repeat");
            dims = [.. dims.Select((d, i) => d * factors[i])];
        }

        int[] remaining = [.. Enumerable.Range(0, rank).Where(i => outDims[i] != dims[i])];
        foreach (int i in remaining)
        {
            if (!dims[i].TryGetConstant(out long n) || !outDims[i].TryGetConstant(out long m))
            {
                throw c.Unsupported($"resizing axis {i} from {dims[i]} to {outDims[i]} needs known sizes (or a nearest upsampling by an integer factor); give --input-shape");
            }

            y = AlongAxis(c, y, i, Matrix(mode, n, m, scales[i]), m, i == remaining[^1] ? c.Hint() : $"{c.Hint()}_axis{i}");
        }

        c.Out(y);
    }

    /// <summary>Per axis: the scale and the output size (from sizes, or floor(size · scale)).</summary>
    private static (double[] Scales, Dim[] Out) Targets(NodeContext c, bool upsample, IReadOnlyList<Dim> dims, int[] axes)
    {
        int rank = dims.Count;
        var scales = Enumerable.Repeat(1.0, rank).ToArray();
        Dim[] outDims = [.. dims];
        int scalesInput = upsample || c.Opset < 11 ? 1 : 2;
        double[]? given = null;
        if (upsample && c.Opset < 9)
        {
            given = [.. c.A.GetFloats("scales").Select(v => (double)v)];
        }
        else if (c.KnownIn(scalesInput) is Known ks && ks.Count > 0)
        {
            given = ks.ToDoubles();
        }

        if (given is not null)
        {
            if (given.Length != axes.Length || given.Any(s => s <= 0))
            {
                throw c.Invalid($"scales [{string.Join(", ", given)}] for {axes.Length} axes");
            }

            for (int k = 0; k < axes.Length; k++)
            {
                int a = axes[k];
                scales[a] = given[k];
                if (given[k] == 1)
                {
                    continue;
                }

                if (given[k] == Math.Floor(given[k]))
                {
                    outDims[a] = dims[a] * (long)given[k];
                }
                else if (dims[a].TryGetConstant(out long n))
                {
                    outDims[a] = (long)Math.Floor(n * given[k]);
                }
                else
                {
                    throw c.Unsupported($"a fractional scale {given[k]} on the symbolic dimension {dims[a]}; give --input-shape");
                }
            }

            return (scales, outDims);
        }

        if (!upsample && c.Opset >= 11 && c.Has(3))
        {
            Dim[] sizes = c.Const(3, "the output sizes").ToDims();
            if (sizes.Length != axes.Length)
            {
                throw c.Invalid($"{sizes.Length} sizes for {axes.Length} axes");
            }

            for (int k = 0; k < axes.Length; k++)
            {
                int a = axes[k];
                outDims[a] = sizes[k];
                if (sizes[k].TryDivideExact(dims[a], out Dim q) && q.TryGetConstant(out long f))
                {
                    scales[a] = f;
                }
                else if (sizes[k].TryGetConstant(out long m) && dims[a].TryGetConstant(out long n))
                {
                    scales[a] = (double)m / n;
                }
                else
                {
                    throw c.Unsupported($"resizing axis {a} from {dims[a]} to {sizes[k]}; give --input-shape");
                }
            }

            return (scales, outDims);
        }

        throw c.Unsupported("the scales or sizes must be constants known at export time");
    }

    /// <summary>The source coordinate of output <paramref name="o"/> (before clamping).</summary>
    private static double Source(Mode mode, double o, long n, long m, double scale) => mode.Coordinates switch
    {
        "half_pixel" => ((o + 0.5) / scale) - 0.5,
        "pytorch_half_pixel" => m > 1 ? ((o + 0.5) / scale) - 0.5 : 0,
        "align_corners" => m == 1 ? 0 : o * (n - 1) / (double)(m - 1),
        "asymmetric" => o / scale,
        "tf_half_pixel_for_nn" => (o + 0.5) / scale,
        _ => throw new NotSupportedException($"coordinate_transformation_mode '{mode.Coordinates}'"),
    };

    private static long Round(Mode mode, double v) => mode.Rounding switch
    {
        "round_prefer_floor" => v - Math.Floor(v) == 0.5 ? (long)Math.Floor(v) : (long)Math.Round(v, MidpointRounding.AwayFromZero),
        "round_prefer_ceil" => v - Math.Floor(v) == 0.5 ? (long)Math.Ceiling(v) : (long)Math.Round(v, MidpointRounding.AwayFromZero),
        "floor" => (long)Math.Floor(v),
        "ceil" => (long)Math.Ceiling(v),
        _ => throw new NotSupportedException($"nearest_mode '{mode.Rounding}'"),
    };

    /// <summary>
    /// True when nearest resizing by <paramref name="factor"/> picks source <c>o / factor</c> for every output
    /// <c>o</c> away from the borders: checked on one period far from them.
    /// </summary>
    private static bool IsRepeat(Mode mode, long factor)
    {
        if (mode.Coordinates == "align_corners")
        {
            return false;
        }

        const long K = 16;
        for (long r = 0; r < factor; r++)
        {
            if (Round(mode, Source(mode, (K * factor) + r, 64, 64 * factor, factor)) != K)
            {
                return false;
            }
        }

        // At the start the source may fall below 0, where clamping gives 0 = o / factor as well.
        for (long r = 0; r < factor; r++)
        {
            if (Math.Clamp(Round(mode, Source(mode, r, 64, 64 * factor, factor)), 0, 63) != 0)
            {
                return false;
            }
        }

        return true;
    }

    // [.., D, ..] -> [.., D, 1, ..] -> broadcast [.., D, f, ..] -> [.., D·f, ..].
    private static OnnxValue Repeat(NodeContext c, OnnxValue x, IReadOnlyList<Dim> dims, long[] factors, string hint)
    {
        var expanded = new List<Dim>();
        var broadcast = new List<Dim>();
        for (int i = 0; i < dims.Count; i++)
        {
            expanded.Add(dims[i]);
            broadcast.Add(dims[i]);
            if (factors[i] != 1)
            {
                expanded.Add(1);
                broadcast.Add(factors[i]);
            }
        }

        GraphValue v = c.B.Reshape(c.T.Runtime(x), expanded, hint + "_split");
        v = c.B.Broadcast(v, broadcast, hint + "_tiled");
        return new RuntimeValue(c.B.Reshape(v, [.. dims.Select((d, i) => d * factors[i])], hint));
    }

    /// <summary>The interpolation matrix <c>M[m, n]</c>: output <c>o</c> = Σ M[o, i] · input <c>i</c>.</summary>
    private static double[] Matrix(Mode mode, long n, long m, double scale)
    {
        var w = new double[m * n];
        for (long o = 0; o < m; o++)
        {
            double s = Source(mode, o, n, m, scale);
            if (mode.Interpolation == "nearest")
            {
                w[(o * n) + Math.Clamp(Round(mode, s), 0, n - 1)] = 1;
                continue;
            }

            s = Math.Clamp(s, 0, n - 1);
            long i0 = (long)Math.Floor(s);
            long i1 = Math.Min(i0 + 1, n - 1);
            double f = s - i0;
            w[(o * n) + i0] += 1 - f;
            w[(o * n) + i1] += f;
        }

        return w;
    }

    // y = x with axis `axis` (size n) replaced by m: the axis is moved last, multiplied by Mᵀ, moved back.
    private static OnnxValue AlongAxis(NodeContext c, OnnxValue x, int axis, double[] matrix, long m, string hint)
    {
        int rank = x.Rank;
        long n = matrix.Length / m;
        GraphValue v = c.T.Runtime(x);
        int[] toLast = [.. Enumerable.Range(0, rank).Where(i => i != axis), axis];
        bool moved = axis != rank - 1;
        if (moved)
        {
            v = c.B.Transpose(v, toLast, hint + "_moved");
        }

        long[] shape = [.. Enumerable.Repeat(1L, rank - 2), m, n];
        GraphValue weights = c.T.Runtime(new ConstValue(hint + "_interpolation", Known.OfReals(DType.F32, shape, matrix)));
        GraphValue y = c.B.MatMul(v, weights, transposeB: true, name: moved ? hint + "_resized" : hint);
        if (moved)
        {
            int[] back = new int[rank];
            for (int i = 0; i < rank; i++)
            {
                back[toLast[i]] = i;
            }

            y = c.B.Transpose(y, back, hint);
        }

        return new RuntimeValue(y);
    }
}
