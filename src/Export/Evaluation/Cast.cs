using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using TorchToNnef.Errors;
using TorchToNnef.Tensors;

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

    // Typed conversions over whole arrays (vectorized by TensorPrimitives and Core's FloatConversions): floats to
    // integers saturate and truncate (NaN gives 0), integers wrap, anything to f32 and f32 to f16/f64 round to nearest
    // even, integers to f16 go through f32 (two roundings, as tract's `as f32 as f16`), TDim through i32.
    private static TensorValue Natural(TensorValue value, DatumType target)
    {
        DatumKind s = value.Type.Kind;
        bool fromFloat = s is DatumKind.F16 or DatumKind.F32 or DatumKind.F64;
        Array data = target.Kind switch
        {
            DatumKind.Bool => NonZero(value),
            DatumKind.TDim => Widen(Convert(value, DatumKind.I32, saturate: fromFloat)),
            DatumKind.F32 => ToSingle(value),
            DatumKind.F16 when s == DatumKind.F32 => FromSingle(value.Items<float>(), DType.F16),
            DatumKind.F16 when !fromFloat => FromSingle(ToSingle(value), DType.F16),
            DatumKind.F64 when s == DatumKind.F32 => FromSingle(value.Items<float>(), DType.F64),
            _ => Convert(value, target.Kind, saturate: fromFloat),
        };
        return TensorValue.Wrap(target, value.ShapeArray, data);
    }

    private static float[] ToSingle(TensorValue value)
    {
        float[] f = TensorPool.Allocate<float>(value.ElementCount);
        if (value.Type.Kind == DatumKind.U64)
        {
            // Core reads u64 saturating through its generic widening; u64 to f32 is a plain rounding conversion.
            TensorPrimitives.ConvertTruncating<ulong, float>(value.Items<ulong>(), f);
            return f;
        }

        FloatConversions.ToSingle(value.Type.ToStorageDType(), TensorValue.AsBytes(value.Data!), f);
        return f;
    }

    private static Array FromSingle(float[] values, DType dtype)
    {
        Array result = dtype == DType.F16 ? TensorPool.Allocate<Half>(values.Length) : TensorPool.Allocate<double>(values.Length);
        FloatConversions.FromSingle(dtype, values, TensorValue.AsBytes(result));
        return result;
    }

    private static long[] Widen(Array ints)
    {
        int[] v = (int[])ints;
        var l = new long[v.Length];
        TensorPrimitives.ConvertTruncating<int, long>(v, l);
        return l;
    }

    // Dispatch on the kind, never on the array's runtime type: the CLR lets sbyte[] pass as byte[].
    private static Array Convert(TensorValue value, DatumKind target, bool saturate) => value.Type.Kind switch
    {
        DatumKind.U8 => Convert(value.Items<byte>(), target, saturate),
        DatumKind.I8 => Convert(value.Items<sbyte>(), target, saturate),
        DatumKind.I16 => Convert(value.Items<short>(), target, saturate),
        DatumKind.U16 => Convert(value.Items<ushort>(), target, saturate),
        DatumKind.I32 => Convert(value.Items<int>(), target, saturate),
        DatumKind.U32 => Convert(value.Items<uint>(), target, saturate),
        DatumKind.I64 or DatumKind.TDim => Convert(value.Items<long>(), target, saturate),
        DatumKind.U64 => Convert(value.Items<ulong>(), target, saturate),
        DatumKind.F16 => Convert(value.Items<Half>(), target, saturate),
        DatumKind.F32 => Convert(value.Items<float>(), target, saturate),
        DatumKind.F64 => Convert(value.Items<double>(), target, saturate),
        _ => throw Unsupported(value.Type, new DatumType(target)),
    };

    private static Array Convert<TFrom>(TFrom[] x, DatumKind target, bool saturate)
        where TFrom : struct, INumberBase<TFrom> => target switch
        {
            DatumKind.U8 => Convert<TFrom, byte>(x, saturate),
            DatumKind.I8 => Convert<TFrom, sbyte>(x, saturate),
            DatumKind.I16 => Convert<TFrom, short>(x, saturate),
            DatumKind.U16 => Convert<TFrom, ushort>(x, saturate),
            DatumKind.I32 => Convert<TFrom, int>(x, saturate),
            DatumKind.U32 => Convert<TFrom, uint>(x, saturate),
            DatumKind.I64 => Convert<TFrom, long>(x, saturate),
            DatumKind.U64 => Convert<TFrom, ulong>(x, saturate),
            DatumKind.F16 => Convert<TFrom, Half>(x, saturate),
            DatumKind.F32 => Convert<TFrom, float>(x, saturate),
            DatumKind.F64 => Convert<TFrom, double>(x, saturate),
            _ => throw Unsupported(DatumType.F64, new DatumType(target)),
        };

    private static TTo[] Convert<TFrom, TTo>(TFrom[] x, bool saturate)
        where TFrom : struct, INumberBase<TFrom>
        where TTo : struct, INumberBase<TTo>
    {
        TTo[] r = TensorPool.Allocate<TTo>(x.Length);
        if (saturate)
        {
            TensorPrimitives.ConvertSaturating<TFrom, TTo>(x, r);
        }
        else
        {
            TensorPrimitives.ConvertTruncating<TFrom, TTo>(x, r);
        }

        return r;
    }

    private static bool[] NonZero(TensorValue value) => value.Type.Kind switch
    {
        DatumKind.U8 => NonZero(value.Items<byte>()),
        DatumKind.I8 => NonZero(value.Items<sbyte>()),
        DatumKind.I16 => NonZero(value.Items<short>()),
        DatumKind.U16 => NonZero(value.Items<ushort>()),
        DatumKind.I32 => NonZero(value.Items<int>()),
        DatumKind.U32 => NonZero(value.Items<uint>()),
        DatumKind.I64 or DatumKind.TDim => NonZero(value.Items<long>()),
        DatumKind.U64 => NonZero(value.Items<ulong>()),
        DatumKind.F16 => NonZero(value.Items<Half>()),
        DatumKind.F32 => NonZero(value.Items<float>()),
        DatumKind.F64 => NonZero(value.Items<double>()),
        _ => throw Unsupported(value.Type, DatumType.Bool),
    };

    private static bool[] NonZero<T>(T[] x)
        where T : struct, INumberBase<T>
    {
        var r = new bool[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            r[i] = x[i] != T.Zero;
        }

        return r;
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
        DatumKind.F64 => value.Items<double>(),
        DatumKind.Bool => (double[])Convert(To(value, DatumType.I8), DatumKind.F64, saturate: false),
        DatumKind.TDim => Convert<long, double>(value.Items<long>(), saturate: false),
        _ => (double[])Convert(value, DatumKind.F64, saturate: false),
    };

    internal static long[] ToLongs(TensorValue value) => value.Type.Kind switch
    {
        DatumKind.I64 or DatumKind.TDim => value.Items<long>(),
        DatumKind.Bool => (long[])Convert(To(value.WithType(DatumType.Bool), DatumType.I8), DatumKind.I64, saturate: false),
        DatumKind.U8 or DatumKind.I8 or DatumKind.I16 or DatumKind.U16 or DatumKind.I32 or DatumKind.U32 or DatumKind.U64 =>
            (long[])Convert(value, DatumKind.I64, saturate: false),
        _ => throw new InvalidOperationException($"{value.Type} is not an integer type."),
    };

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

        return To(TensorValue.Wrap(DatumType.F64, value.ShapeArray, parsed), target);
    }

    private static TensorValue ToStrings(TensorValue value)
    {
        string[] s = value.Type.Kind switch
        {
            DatumKind.Bool => Array.ConvertAll(value.Items<bool>(), x => x ? "true" : "false"),
            DatumKind.F16 or DatumKind.F32 or DatumKind.F64 => Array.ConvertAll(ToDoubles(value), x => x.ToString("R", CultureInfo.InvariantCulture)),
            DatumKind.U64 => Array.ConvertAll(value.Items<ulong>(), x => x.ToString(CultureInfo.InvariantCulture)),
            _ => Array.ConvertAll(ToLongs(value), x => x.ToString(CultureInfo.InvariantCulture)),
        };
        return TensorValue.Wrap(DatumType.String, value.ShapeArray, s);
    }

    private static UnsupportedFeatureException Unsupported(DatumType from, DatumType to) =>
        new(null, null, $"unsupported cast from {from} to {to}");
}
