using System.Numerics;
using TorchToNnef.Export.Evaluation;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// The typed (vectorized) casts against a scalar statement of tract's <c>as</c> rules, for every pair of numeric storage
/// types and values at every edge: ±0, NaN, ±inf, halves, saturation bounds, integers beyond 2^24 and 2^53, and the
/// extremes of each integer type. Results must be equal bit for bit (any NaN matching any NaN).
/// </summary>
public class CastKernelTests
{
    private static readonly DatumType[] Numeric =
    [
        DatumType.U8, DatumType.I8, new(DatumKind.I16), new(DatumKind.U16), DatumType.I32, new(DatumKind.U32),
        DatumType.I64, new(DatumKind.U64), DatumType.F16, DatumType.F32, DatumType.F64, DatumType.TDim, DatumType.Bool,
    ];

    private static readonly double[] Doubles =
    [
        0.0, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.5, -0.5, 1.5, -1.5, 2.5, 127.9, -128.9,
        255.5, 256.0, -129.0, 32767.5, 65535.9, 65536.0, 2147483647.0, 2147483648.0, -2147483649.0, 4294967295.5,
        16777217.0, 9007199254740993.0, 9.3e18, -9.3e18, 1.9e19, 1e30, 65504.0, 65520.0, 1e-8, 6.0e-5, 3.1e-5,
    ];

    private static readonly long[] Longs =
    [
        0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32769, 65535, 65536, int.MaxValue, (long)int.MaxValue + 1,
        int.MinValue, (long)int.MinValue - 1, uint.MaxValue, 16777217, 16777219, 2049, 2051, 9007199254740993, long.MaxValue, long.MinValue,
    ];

    [Fact]
    public void EveryNumericPairFollowsTheScalarRules()
    {
        var failures = new List<string>();
        foreach (DatumType source in Numeric)
        {
            TensorValue input = Input(source);
            foreach (DatumType target in Numeric)
            {
                if (source == target)
                {
                    continue;
                }

                Array actual = Cast.To(input, target).Data!;
                for (int i = 0; i < input.ElementCount; i++)
                {
                    object expected = Reference(input, i, target);
                    object got = actual.GetValue(i)!;
                    if (!SameValue(expected, got))
                    {
                        failures.Add($"{source} {input.Data!.GetValue(i)} -> {target}: expected {expected}, got {got}");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(30)));
    }

    private static TensorValue Input(DatumType type)
    {
        if (type.IsFloat)
        {
            double[] d = Doubles;
            Array data = type.Kind switch
            {
                DatumKind.F16 => d.Select(v => (Half)v).ToArray(),
                DatumKind.F32 => d.Select(v => (float)v).ToArray(),
                _ => d,
            };
            return TensorValue.Wrap(type, [d.Length], data);
        }

        if (type == DatumType.Bool)
        {
            return TensorValue.Wrap(type, [2], new[] { true, false });
        }

        long[] l = Longs;
        Array ints = type.Kind switch
        {
            DatumKind.U8 => l.Select(v => unchecked((byte)v)).ToArray(),
            DatumKind.I8 => l.Select(v => unchecked((sbyte)v)).ToArray(),
            DatumKind.I16 => l.Select(v => unchecked((short)v)).ToArray(),
            DatumKind.U16 => l.Select(v => unchecked((ushort)v)).ToArray(),
            DatumKind.I32 => l.Select(v => unchecked((int)v)).ToArray(),
            DatumKind.U32 => l.Select(v => unchecked((uint)v)).ToArray(),
            DatumKind.U64 => l.Select(v => unchecked((ulong)v)).ToArray(),
            _ => l.ToArray(),
        };
        return TensorValue.Wrap(type, [l.Length], ints);
    }

    // tract's `as` rules, one value at a time: floats widened to f64 exactly, integers to i64 (u64 kept apart).
    private static object Reference(TensorValue input, int i, DatumType target)
    {
        object v = input.Data!.GetValue(i)!;
        if (v is bool b)
        {
            v = b ? (sbyte)1 : (sbyte)0;
        }

        if (v is Half or float or double)
        {
            double d = v switch { Half h => (double)h, float f => f, _ => (double)v };
            return target.Kind switch
            {
                DatumKind.F16 => (Half)d,
                DatumKind.F32 => (float)d,
                DatumKind.F64 => d,
                DatumKind.Bool => d != 0,
                DatumKind.I8 => (sbyte)Saturate(d, sbyte.MinValue, sbyte.MaxValue),
                DatumKind.I16 => (short)Saturate(d, short.MinValue, short.MaxValue),
                DatumKind.I32 => (int)Saturate(d, int.MinValue, int.MaxValue),
                DatumKind.I64 => Saturate(d, long.MinValue, long.MaxValue),
                DatumKind.U8 => (byte)Saturate(d, 0, byte.MaxValue),
                DatumKind.U16 => (ushort)Saturate(d, 0, ushort.MaxValue),
                DatumKind.U32 => (uint)Saturate(d, 0, uint.MaxValue),
                DatumKind.U64 => double.IsNaN(d) || d <= 0 ? 0UL : d >= ulong.MaxValue ? ulong.MaxValue : (ulong)d,
                _ => (long)(int)Saturate(d, int.MinValue, int.MaxValue),
            };
        }

        bool u64 = v is ulong;
        long l = v is ulong ul ? unchecked((long)ul) : System.Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture);
        return target.Kind switch
        {
            DatumKind.F16 => (Half)(u64 ? (float)(ulong)l : (float)l),
            DatumKind.F32 => u64 ? (float)(ulong)l : (float)l,
            DatumKind.F64 => u64 ? (double)(ulong)l : (double)l,
            DatumKind.Bool => l != 0,
            DatumKind.I8 => unchecked((sbyte)l),
            DatumKind.I16 => unchecked((short)l),
            DatumKind.I32 => unchecked((int)l),
            DatumKind.I64 => l,
            DatumKind.U8 => unchecked((byte)l),
            DatumKind.U16 => unchecked((ushort)l),
            DatumKind.U32 => unchecked((uint)l),
            DatumKind.U64 => unchecked((ulong)l),
            _ => (long)unchecked((int)l),
        };
    }

    private static long Saturate(double x, long min, long max) =>
        double.IsNaN(x) ? 0 : x >= max ? max : x <= min ? min : (long)Math.Truncate(x);

    private static bool SameValue(object expected, object actual) => (expected, actual) switch
    {
        (Half e, Half a) => BitConverter.HalfToUInt16Bits(e) == BitConverter.HalfToUInt16Bits(a) || (Half.IsNaN(e) && Half.IsNaN(a)),
        (float e, float a) => BitConverter.SingleToInt32Bits(e) == BitConverter.SingleToInt32Bits(a) || (float.IsNaN(e) && float.IsNaN(a)),
        (double e, double a) => BitConverter.DoubleToInt64Bits(e) == BitConverter.DoubleToInt64Bits(a) || (double.IsNaN(e) && double.IsNaN(a)),
        _ => expected.Equals(actual),
    };
}
