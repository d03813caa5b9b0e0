using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// <c>Resize</c> and <c>Upsample</c> (modes <c>nearest</c>, <c>linear</c> and <c>cubic</c>, with <c>antialias</c>,
/// <c>exclude_outside</c>, <c>cubic_coeff_a</c> and the <c>tf_crop_and_resize</c> coordinates with their
/// <c>extrapolation_value</c>) without a resize operator of tract's: a nearest upsampling by integer factors whose
/// source index is <c>o / factor</c> under the node's coordinate mode and rounding (checked, not assumed) is a reshape,
/// a broadcast and a reshape, valid on symbolic dimensions; any other resize of an axis of known size is a product with
/// a constant interpolation matrix <c>M[out, in]</c> built here the way ONNX Runtime weighs its inputs (per axis, the
/// modes are separable), plus a constant row of extrapolation values for the outputs that fall outside a
/// <c>tf_crop_and_resize</c> region. Where ONNX Runtime computes coordinates in single precision the matrix is built
/// in double, so outputs agree to rounding.
/// </summary>
internal static class ResizeOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["Resize"] = c => Resize(c, upsample: false);
        t["Upsample"] = c => Resize(c, upsample: true);
    }

    /// <summary>How one node resizes.</summary>
    /// <param name="Interpolation">nearest, linear or cubic.</param>
    /// <param name="Coordinates">ONNX coordinate_transformation_mode.</param>
    /// <param name="Rounding">nearest_mode.</param>
    /// <param name="CubicA">cubic_coeff_a.</param>
    /// <param name="ExcludeOutside">Weights of samples outside the input are dropped and the rest renormalized.</param>
    /// <param name="Antialias">Downsampling widens the filter by the inverse scale (ONNX Runtime's Pillow-style filter).</param>
    /// <param name="Extrapolation">Value of outputs outside a tf_crop_and_resize region.</param>
    private sealed record Mode(string Interpolation, string Coordinates, string Rounding, double CubicA = -0.75, bool ExcludeOutside = false, bool Antialias = false, double Extrapolation = 0);

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
            "cubic" or "bicubic" when !legacy => "cubic",
            string other => throw c.Unsupported($"mode '{other}' (nearest, linear and, from opset 11, cubic)"),
        };
        bool antialias = c.A.GetInt("antialias", 0) != 0;
        bool excludeOutside = c.A.GetInt("exclude_outside", 0) != 0;
        if (antialias && interpolation == "nearest")
        {
            throw c.Invalid("antialias applies to the linear and cubic modes only");
        }

        if (excludeOutside && interpolation != "cubic" && !(antialias && interpolation == "linear"))
        {
            throw c.Invalid("exclude_outside applies to the cubic mode (and to linear with antialias) only");
        }

        var mode = new Mode(
            interpolation,
            legacy ? "asymmetric" : c.A.GetString("coordinate_transformation_mode", "half_pixel"),
            legacy ? "floor" : c.A.GetString("nearest_mode", "round_prefer_floor"),
            c.A.GetFloat("cubic_coeff_a", -0.75f),
            excludeOutside,
            antialias,
            c.A.GetFloat("extrapolation_value", 0f));
        if (mode.Coordinates is not ("half_pixel" or "pytorch_half_pixel" or "align_corners" or "asymmetric" or "tf_half_pixel_for_nn" or "tf_crop_and_resize" or "half_pixel_symmetric"))
        {
            throw c.Unsupported($"coordinate_transformation_mode '{mode.Coordinates}'");
        }

        if (antialias && mode.Coordinates == "tf_crop_and_resize")
        {
            throw c.Unsupported("antialias with coordinate_transformation_mode 'tf_crop_and_resize'");
        }

        if (c.A.GetString("keep_aspect_ratio_policy", "stretch") != "stretch")
        {
            throw c.Unsupported("keep_aspect_ratio_policy other than 'stretch'");
        }

        int[] axes = c.A.GetIntsOrNull("axes") is IReadOnlyList<long> given ? [.. given.Select(a => c.Axis(a, rank))] : [.. Enumerable.Range(0, rank)];
        (double[] scales, Dim[] outDims) = Targets(c, upsample, dims, axes);
        (double Start, double End)[] roi = Roi(c, mode, rank, axes);

        // ONNX Runtime copies the input when no dimension changes, whatever the region says.
        if (Enumerable.Range(0, rank).All(i => outDims[i] == dims[i]))
        {
            c.Out(x);
            return;
        }

        OnnxValue y = x;
        var factors = new long[rank];
        bool allByBroadcast = true;
        for (int i = 0; i < rank; i++)
        {
            factors[i] = 1;
            if (outDims[i] == dims[i] && roi[i] == (0, 1))
            {
                continue;
            }

            if (mode.Interpolation == "nearest" && mode.Coordinates != "tf_crop_and_resize" && scales[i] >= 1 && scales[i] == Math.Floor(scales[i]) && IsRepeat(mode, (long)scales[i])
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

        int[] remaining = [.. Enumerable.Range(0, rank).Where(i => factors[i] == 1 && !(outDims[i] == dims[i] && roi[i] == (0, 1)))];
        foreach (int i in remaining)
        {
            if (!dims[i].TryGetConstant(out long n) || !outDims[i].TryGetConstant(out long m))
            {
                throw c.Unsupported($"resizing axis {i} from {dims[i]} to {outDims[i]} needs known sizes (or a nearest upsampling by an integer factor); give --input-shape");
            }

            (double[] matrix, double[]? fill) = Matrix(mode, n, m, scales[i], roi[i]);
            y = AlongAxis(c, y, i, matrix, fill, m, i == remaining[^1] ? c.Hint() : $"{c.Hint()}_axis{i}");
        }

        c.Out(y);
    }

    /// <summary>Per axis, the region of interest of tf_crop_and_resize (normalized start and end); (0, 1) otherwise.</summary>
    private static (double Start, double End)[] Roi(NodeContext c, Mode mode, int rank, int[] axes)
    {
        var roi = Enumerable.Repeat((0.0, 1.0), rank).ToArray();
        if (mode.Coordinates != "tf_crop_and_resize")
        {
            return roi;
        }

        double[] given = c.Has(1) ? c.Const(1, "the region of interest (roi)").ToDoubles() : [];
        if (given.Length != 2 * axes.Length)
        {
            throw c.Invalid($"tf_crop_and_resize needs a roi of {2 * axes.Length} values (starts then ends), got {given.Length}");
        }

        for (int k = 0; k < axes.Length; k++)
        {
            roi[axes[k]] = (given[k], given[axes.Length + k]);
        }

        return roi;
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

    /// <summary>The source coordinate of output <paramref name="o"/> (before clamping), as ONNX Runtime computes it.</summary>
    private static double Source(Mode mode, double o, long n, long m, double scale, (double Start, double End) roi = default) => mode.Coordinates switch
    {
        "half_pixel" => ((o + 0.5) / scale) - 0.5,
        "pytorch_half_pixel" => m > 1 ? ((o + 0.5) / scale) - 0.5 : 0,
        "align_corners" => m == 1 ? 0 : o * (n - 1) / (double)(m - 1),
        "asymmetric" => o / scale,
        "tf_half_pixel_for_nn" => (o + 0.5) / scale,
        "tf_crop_and_resize" => m > 1
            ? (roi.Start * (n - 1)) + (o * (roi.End - roi.Start) * (n - 1) / (m - 1))
            : 0.5 * (roi.Start + roi.End) * (n - 1),
        "half_pixel_symmetric" => (n / 2.0 * (1 - (m / (scale * n)))) + ((o + 0.5) / scale) - 0.5,
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

    /// <summary>
    /// The interpolation matrix <c>M[m, n]</c> (output <c>o</c> = Σ M[o, i] · input <c>i</c>), and, for
    /// tf_crop_and_resize, the value added to each output (the extrapolation value where the source falls outside the
    /// input, whose row of <c>M</c> is zero); null when nothing is added.
    /// </summary>
    private static (double[] Matrix, double[]? Fill) Matrix(Mode mode, long n, long m, double scale, (double Start, double End) roi)
    {
        var w = new double[m * n];
        double[]? fill = mode.Coordinates == "tf_crop_and_resize" ? new double[m] : null;
        for (long o = 0; o < m; o++)
        {
            Span<double> row = w.AsSpan((int)(o * n), (int)n);
            double s = Source(mode, o, n, m, scale, roi);
            if (fill is not null && (s < 0 || s > n - 1))
            {
                fill[o] = mode.Extrapolation;
                continue;
            }

            if (mode.Antialias)
            {
                AntialiasRow(mode, row, s, n, scale);
                continue;
            }

            switch (mode.Interpolation)
            {
                case "nearest":
                    row[(int)Math.Clamp(Round(mode, s), 0, n - 1)] = 1;
                    break;
                case "cubic":
                    CubicRow(mode, row, s, n);
                    break;
                default:
                    s = Math.Clamp(s, 0, n - 1);
                    long i0 = (long)Math.Floor(s);
                    long i1 = Math.Min(i0 + 1, n - 1);
                    double f = s - i0;
                    row[(int)i0] += 1 - f;
                    row[(int)i1] += f;
                    break;
            }
        }

        return (w, fill);
    }

    // Keys' cubic convolution over the samples floor(s) - 1 .. floor(s) + 2, clamped to the edges; with exclude_outside
    // the samples outside the input get no weight and the others are renormalized.
    private static void CubicRow(Mode mode, Span<double> row, double s, long n)
    {
        long i = (long)Math.Floor(s);
        double t = s - i;
        double a = mode.CubicA;
        Span<double> coeffs =
        [
            ((((a * (t + 1)) - (5 * a)) * (t + 1)) + (8 * a)) * (t + 1) - (4 * a),
            ((((a + 2) * t) - (a + 3)) * t * t) + 1,
            ((((a + 2) * (1 - t)) - (a + 3)) * (1 - t) * (1 - t)) + 1,
            ((((a * (2 - t)) - (5 * a)) * (2 - t)) + (8 * a)) * (2 - t) - (4 * a),
        ];
        double sum = 1;
        if (mode.ExcludeOutside)
        {
            sum = 0;
            for (int k = 0; k < 4; k++)
            {
                long p = i - 1 + k;
                coeffs[k] = p < 0 || p >= n ? 0 : coeffs[k];
                sum += coeffs[k];
            }
        }

        for (int k = 0; k < 4; k++)
        {
            row[(int)Math.Clamp(i - 1 + k, 0, n - 1)] += coeffs[k] / sum;
        }
    }

    // ONNX Runtime's antialiased filter (Pillow's): a triangle (linear) or Keys cubic kernel stretched by the inverse
    // scale when downsampling, over the window [floor(s + 1 - support), floor(s + 1 + support)) capped at 2·ceil(support) + 1
    // samples; samples outside the input are folded onto the edge (or dropped with exclude_outside); weights are
    // normalized by their total.
    private static void AntialiasRow(Mode mode, Span<double> row, double s, long n, double scale)
    {
        bool cubic = mode.Interpolation == "cubic";
        double inverse = 1 / scale;
        double half = cubic ? 2.0 : 1.0;
        double support = inverse >= 1 ? half * inverse : half;
        double stretch = inverse >= 1 ? scale : 1;
        long window = ((long)Math.Ceiling(support) * 2) + 1;
        double center = s + 0.5;
        long first = (long)Math.Floor(center - support + 0.5);
        long last = (long)Math.Floor(center + support + 0.5);
        last = first + Math.Clamp(last - first, 0, window);
        long cutFirst = Math.Clamp(first, 0, n);
        long cutLast = Math.Clamp(last, 0, n);
        if (cutFirst >= cutLast)
        {
            return;
        }

        if (mode.ExcludeOutside)
        {
            (first, last) = (cutFirst, cutLast);
        }

        double total = 0;
        for (long p = first; p < last; p++)
        {
            double v = Kernel(cubic, mode.CubicA, (p - center + 0.5) * stretch);
            total += v;
            row[(int)Math.Clamp(p, 0, n - 1)] += v;
        }

        if (total != 0)
        {
            for (long p = cutFirst; p < cutLast; p++)
            {
                row[(int)p] /= total;
            }
        }
    }

    private static double Kernel(bool cubic, double a, double x)
    {
        x = Math.Abs(x);
        if (!cubic)
        {
            return x < 1 ? 1 - x : 0;
        }

        return x < 1 ? ((((a + 2) * x) - (a + 3)) * x * x) + 1
            : x < 2 ? ((((x - 5) * x) + 8) * x - 4) * a
            : 0;
    }

    // y = x with axis `axis` (size n) replaced by m: the axis is moved last, multiplied by Mᵀ (plus the fill row), moved back.
    private static OnnxValue AlongAxis(NodeContext c, OnnxValue x, int axis, double[] matrix, double[]? fill, long m, string hint)
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

        bool filled = fill is not null && fill.Any(f => f != 0);
        long[] shape = [.. Enumerable.Repeat(1L, rank - 2), m, n];
        GraphValue weights = c.T.Runtime(new ConstValue(hint + "_interpolation", Known.OfReals(DType.F32, shape, matrix)));
        GraphValue y = c.B.MatMul(v, weights, transposeB: true, name: moved || filled ? hint + "_resized" : hint);
        if (filled)
        {
            long[] rowShape = [.. Enumerable.Repeat(1L, rank - 1), m];
            GraphValue extrapolated = c.T.Runtime(new ConstValue(hint + "_extrapolation", Known.OfReals(DType.F32, rowShape, fill!)));
            y = c.B.Add(y, extrapolated, moved ? hint + "_filled" : hint);
        }

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
