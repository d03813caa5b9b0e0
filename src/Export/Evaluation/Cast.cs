using System.Globalization;
using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// tract's <c>Tensor::cast_to_dt</c>: numeric casts with Rust <c>as</c> semantics (float to integer truncates toward
/// zero and saturates, NaN gives 0; integer to integer wraps; to f16 rounds to nearest even), TDim through i64,
/// bool through 0/1, anything to TDim through i32, and the quantized conversions (<c>(q - zp) * scale</c> to float,
/// <c>round_half_even(x / scale + zp)</c> with saturation from float, re-scaling between 8-bit types).
/// </summary>
public static class Cast
{
    /// <summary>Converts <paramref name="value"/> to <paramref name="target"/>; returns the same value when the type already matches.</summary>
    /// <exception cref="UnsupportedFeatureException">A conversion tract does not perform (e.g. Q4_0 to anything).</exception>
    public static TensorValue To(TensorValue value, DatumType target)
    {
        DatumType source = value.Type;
        if (source == target)
        {
            return value;
        }

        if (source.Kind == DatumKind.BlockQuant || target.Kind == DatumKind.BlockQuant)
        {
            throw Unsupported(source, target);
        }

        if (source.Kind == DatumKind.TDim && target.Kind != DatumKind.TDim)
        {
            return To(value.WithType(DatumType.I64), target);
        }

        if (source.Kind == DatumKind.Bool && target.Kind != DatumKind.String && target.Kind != DatumKind.Bool && !target.IsQuantized)
        {
            bool[] flags = value.Items<bool>();
            var ints = new sbyte[flags.Length];
            for (int i = 0; i < flags.Length; i++)
            {
                ints[i] = flags[i] ? (sbyte)1 : (sbyte)0;
            }

            return To(TensorValue.Wrap(DatumType.I8, value.ShapeArray, ints), target);
        }

        if (source.Kind == DatumKind.String)
        {
            return FromStrings(value, target);
        }

        if (target.Kind == DatumKind.String)
        {
            return ToStrings(value);
        }

        if (!source.IsQuantized && !target.IsQuantized)
        {
            return Natural(value, target);
        }

        return Quantized(value, target);
    }

    /// <summary>Round half to even on f32, as tract's <c>round_ties_to_even</c>.</summary>
    public static float RoundTiesToEven(float x) => MathF.Round(x, MidpointRounding.ToEven);

    /// <summary>tract's <c>scale_by</c>: <c>sign(b) * round_half_even(|b| * a)</c> computed in f32.</summary>
    public static int ScaleBy(int b, float a)
    {
        float fb = b;
        float r = RoundTiesToEven(MathF.Abs(fb) * a) * (fb < 0 ? -1f : 1f);
        return SaturateToInt(r);
    }

    internal static int SaturateToInt(float x) =>
        float.IsNaN(x) ? 0 : x >= 2147483647f ? int.MaxValue : x <= -2147483648f ? int.MinValue : (int)x;

    private static TensorValue Natural(TensorValue value, DatumType target)
    {
        DatumKind s = value.Type.Kind;
        if (s is DatumKind.F16 or DatumKind.F32 or DatumKind.F64)
        {
            return FromDoubles(ToDoubles(value), value.ShapeArray, target);
        }

        return FromLongs(ToLongs(value), s == DatumKind.U64, value.ShapeArray, target);
    }

    private static TensorValue Quantized(TensorValue value, DatumType target)
    {
        DatumType source = value.Type;
        QuantParams sq = source.ZpScale;
        QuantParams dq = target.ZpScale;
        if (source.IsQuantized && target.IsFloat)
        {
            float[] f = Dequantize(value, sq);
            return target.Kind == DatumKind.F32 ? TensorValue.Wrap(target, value.ShapeArray, f) : To(TensorValue.Wrap(DatumType.F32, value.ShapeArray, f), target);
        }

        if (source.IsQuantized && target.IsQuantized && source.Kind == target.Kind && source.Kind is DatumKind.I8 or DatumKind.U8)
        {
            long[] raw = ToLongs(value);
            float factor = sq.Scale / dq.Scale;
            var result = new long[raw.Length];
            for (int i = 0; i < raw.Length; i++)
            {
                result[i] = (long)dq.ZeroPoint + ScaleBy((int)raw[i] - sq.ZeroPoint, factor);
            }

            return FromLongsClamped(result, value.ShapeArray, target);
        }

        if (target.IsQuantized && source.IsFloat)
        {
            // q_via_f32: the plain float is read as f32 (tract only defines the f32 source; f16/f64 go through f32).
            float[] x = source.Kind == DatumKind.F32 ? value.Items<float>() : To(value, DatumType.F32).Items<float>();
            var q = new long[x.Length];
            for (int i = 0; i < x.Length; i++)
            {
                q[i] = SaturateToLong(RoundTiesToEven((x[i] / dq.Scale) + dq.ZeroPoint));
            }

            return FromLongsClamped(q, value.ShapeArray, target);
        }

        if (source.IsQuantized && target.IsQuantized && source.Kind != target.Kind)
        {
            float[] real = Dequantize(value, sq);
            var q = new long[real.Length];
            for (int i = 0; i < real.Length; i++)
            {
                q[i] = SaturateToLong(RoundTiesToEven((real[i] / dq.Scale) + dq.ZeroPoint));
            }

            return FromLongsClamped(q, value.ShapeArray, target);
        }

        // Raw re-typing between integer storages (u8 <-> QU8, i8 -> QI32, i32 -> QU8 with clamping, ...).
        if (source.Kind is DatumKind.I8 or DatumKind.U8 or DatumKind.I32 or DatumKind.U32
            && target.Kind is DatumKind.I8 or DatumKind.U8 or DatumKind.I32 or DatumKind.U32)
        {
            return FromLongsClamped(ToLongs(value), value.ShapeArray, target);
        }

        throw Unsupported(source, target);
    }

    private static float[] Dequantize(TensorValue value, QuantParams q)
    {
        long[] raw = ToLongs(value);
        var f = new float[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            f[i] = ((float)raw[i] - q.ZeroPoint) * q.Scale;
        }

        return f;
    }

    private static long SaturateToLong(float x) =>
        float.IsNaN(x) ? 0 : x >= 9.223372E+18f ? long.MaxValue : x <= -9.223372E+18f ? long.MinValue : (long)x;

    // Dispatch on the kind, never on the array's runtime type: the CLR lets sbyte[] pass as byte[] (and int[] as
    // uint[]), so a pattern match on array types can read signed data as unsigned.
    internal static double[] ToDoubles(TensorValue value) => value.Type.Kind switch
    {
        DatumKind.F16 => Array.ConvertAll(value.Items<Half>(), x => (double)x),
        DatumKind.F32 => Array.ConvertAll(value.Items<float>(), x => (double)x),
        DatumKind.F64 => value.Items<double>(),
        DatumKind.U64 => Array.ConvertAll(value.Items<ulong>(), x => (double)x),
        _ => Array.ConvertAll(ToLongs(value), x => (double)x),
    };

    internal static long[] ToLongs(TensorValue value) => value.Type.Kind switch
    {
        DatumKind.Bool => Array.ConvertAll(value.Items<bool>(), x => x ? 1L : 0L),
        DatumKind.U8 => Array.ConvertAll(value.Items<byte>(), x => (long)x),
        DatumKind.I8 => Array.ConvertAll(value.Items<sbyte>(), x => (long)x),
        DatumKind.I16 => Array.ConvertAll(value.Items<short>(), x => (long)x),
        DatumKind.U16 => Array.ConvertAll(value.Items<ushort>(), x => (long)x),
        DatumKind.I32 => Array.ConvertAll(value.Items<int>(), x => (long)x),
        DatumKind.U32 => Array.ConvertAll(value.Items<uint>(), x => (long)x),
        DatumKind.I64 or DatumKind.TDim => value.Items<long>(),
        DatumKind.U64 => Array.ConvertAll(value.Items<ulong>(), x => unchecked((long)x)),
        _ => throw new InvalidOperationException($"{value.Type} is not an integer type."),
    };

    private static TensorValue FromDoubles(double[] d, int[] shape, DatumType target)
    {
        Array data = target.Kind switch
        {
            DatumKind.F16 => Array.ConvertAll(d, x => (Half)x),
            DatumKind.F32 => Array.ConvertAll(d, x => (float)x),
            DatumKind.F64 => (double[])d.Clone(),
            DatumKind.Bool => Array.ConvertAll(d, x => x != 0),
            DatumKind.I8 => Array.ConvertAll(d, x => (sbyte)Saturate(x, sbyte.MinValue, sbyte.MaxValue)),
            DatumKind.I16 => Array.ConvertAll(d, x => (short)Saturate(x, short.MinValue, short.MaxValue)),
            DatumKind.I32 => Array.ConvertAll(d, x => (int)Saturate(x, int.MinValue, int.MaxValue)),
            DatumKind.I64 => Array.ConvertAll(d, x => Saturate(x, long.MinValue, long.MaxValue)),
            DatumKind.U8 => Array.ConvertAll(d, x => (byte)Saturate(x, 0, byte.MaxValue)),
            DatumKind.U16 => Array.ConvertAll(d, x => (ushort)Saturate(x, 0, ushort.MaxValue)),
            DatumKind.U32 => Array.ConvertAll(d, x => (uint)Saturate(x, 0, uint.MaxValue)),
            DatumKind.U64 => Array.ConvertAll(d, SaturateU64),
            DatumKind.TDim => Array.ConvertAll(d, x => (long)(int)Saturate(x, int.MinValue, int.MaxValue)),
            _ => throw Unsupported(DatumType.F64, target),
        };
        return TensorValue.Wrap(target, shape, data);
    }

    private static TensorValue FromLongs(long[] l, bool unsigned64, int[] shape, DatumType target)
    {
        Array data = target.Kind switch
        {
            DatumKind.F16 => Array.ConvertAll(l, x => (Half)(unsigned64 ? (float)(ulong)x : (float)x)),
            DatumKind.F32 => Array.ConvertAll(l, x => unsigned64 ? (float)(ulong)x : (float)x),
            DatumKind.F64 => Array.ConvertAll(l, x => unsigned64 ? (double)(ulong)x : (double)x),
            DatumKind.Bool => Array.ConvertAll(l, x => x != 0),
            DatumKind.I8 => Array.ConvertAll(l, x => unchecked((sbyte)x)),
            DatumKind.I16 => Array.ConvertAll(l, x => unchecked((short)x)),
            DatumKind.I32 => Array.ConvertAll(l, x => unchecked((int)x)),
            DatumKind.I64 => (long[])l.Clone(),
            DatumKind.U8 => Array.ConvertAll(l, x => unchecked((byte)x)),
            DatumKind.U16 => Array.ConvertAll(l, x => unchecked((ushort)x)),
            DatumKind.U32 => Array.ConvertAll(l, x => unchecked((uint)x)),
            DatumKind.U64 => Array.ConvertAll(l, x => unchecked((ulong)x)),
            DatumKind.TDim => Array.ConvertAll(l, x => (long)unchecked((int)x)),
            _ => throw Unsupported(DatumType.I64, target),
        };
        return TensorValue.Wrap(target, shape, data);
    }

    private static TensorValue FromLongsClamped(long[] l, int[] shape, DatumType target)
    {
        Array data = target.Kind switch
        {
            DatumKind.I8 => Array.ConvertAll(l, x => (sbyte)Math.Clamp(x, sbyte.MinValue, sbyte.MaxValue)),
            DatumKind.U8 => Array.ConvertAll(l, x => (byte)Math.Clamp(x, byte.MinValue, byte.MaxValue)),
            DatumKind.I32 => Array.ConvertAll(l, x => (int)Math.Clamp(x, int.MinValue, int.MaxValue)),
            DatumKind.U32 => Array.ConvertAll(l, x => (uint)Math.Clamp(x, uint.MinValue, uint.MaxValue)),
            _ => throw Unsupported(DatumType.I64, target),
        };
        return TensorValue.Wrap(target, shape, data);
    }

    private static long Saturate(double x, long min, long max) =>
        double.IsNaN(x) ? 0 : x >= max ? max : x <= min ? min : (long)Math.Truncate(x);

    private static ulong SaturateU64(double x) =>
        double.IsNaN(x) || x <= 0 ? 0 : x >= ulong.MaxValue ? ulong.MaxValue : (ulong)x;

    private static TensorValue FromStrings(TensorValue value, DatumType target)
    {
        string[] s = value.Items<string>();
        var parsed = new double[s.Length];
        for (int i = 0; i < s.Length; i++)
        {
            if (!double.TryParse(s[i], NumberStyles.Float, CultureInfo.InvariantCulture, out parsed[i]))
            {
                throw new InvalidGraphException(null, $"cannot parse '{s[i]}' as {target}");
            }
        }

        return FromDoubles(parsed, value.ShapeArray, target);
    }

    private static TensorValue ToStrings(TensorValue value)
    {
        string[] s = value.Type.Kind switch
        {
            DatumKind.Bool => Array.ConvertAll(value.Items<bool>(), x => x ? "true" : "false"),
            DatumKind.F16 or DatumKind.F32 or DatumKind.F64 => Array.ConvertAll(ToDoubles(value), x => x.ToString("R", CultureInfo.InvariantCulture)),
            _ => Array.ConvertAll(ToLongs(value), x => x.ToString(CultureInfo.InvariantCulture)),
        };
        return TensorValue.Wrap(DatumType.String, value.ShapeArray, s);
    }

    private static UnsupportedFeatureException Unsupported(DatumType from, DatumType to) =>
        new(null, null, $"unsupported cast from {from} to {to}");
}
