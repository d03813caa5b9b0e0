using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>How a <c>graph.quant</c> entry was written.</summary>
public enum QuantFormat
{
    /// <summary><c>zero_point_linear_quantize(zero_point, scale, bits, signed, symmetric)</c>.</summary>
    ZeroPointLinear,
    /// <summary><c>linear_quantize(min, max, bits)</c> (signed).</summary>
    MinMaxLinear,
}

/// <summary>
/// Per-tensor affine quantization attached to a value (one <c>graph.quant</c> entry):
/// <c>real = (q - ZeroPoint) * Scale</c>.
/// </summary>
public sealed record QuantInfo
{
    /// <summary>Entry syntax.</summary>
    public QuantFormat Format { get; init; } = QuantFormat.ZeroPointLinear;

    /// <summary>Zero point.</summary>
    public long ZeroPoint { get; init; }

    /// <summary>Scale, kept as written (tract reads it as f32).</summary>
    public double Scale { get; init; }

    /// <summary>Bit width (8 or 32).</summary>
    public int Bits { get; init; } = 8;

    /// <summary>Signed integer storage (QI8/QI32) or unsigned (QU8).</summary>
    public bool Signed { get; init; }

    /// <summary>The <c>symmetric</c> flag as written (tract ignores it); null when absent.</summary>
    public bool? Symmetric { get; init; }

    /// <summary>For <see cref="QuantFormat.MinMaxLinear"/>: the written minimum.</summary>
    public double Min { get; init; }

    /// <summary>For <see cref="QuantFormat.MinMaxLinear"/>: the written maximum.</summary>
    public double Max { get; init; }

    /// <summary>
    /// The type tract gives a value with this entry: QU8/QI8 for 8 bits, QI32 for signed 32 bits, plain u32 for unsigned
    /// 32 bits (tract has no QU32).
    /// </summary>
    /// <param name="identifier">The value the entry belongs to, for the error message.</param>
    /// <exception cref="UnsupportedFeatureException">Another bit width.</exception>
    public DatumType ToDatumType(string? identifier = null)
    {
        var p = new QuantParams(checked((int)ZeroPoint), (float)Scale);
        return (Bits, Signed) switch
        {
            (8, true) => new DatumType(DatumKind.I8, p),
            (8, false) => new DatumType(DatumKind.U8, p),
            (32, true) => new DatumType(DatumKind.I32, p),
            (32, false) => new DatumType(DatumKind.U32),
            _ => throw new UnsupportedFeatureException(null, identifier, $"graph.quant entry with {Bits} bits is not supported"),
        };
    }

    /// <summary>Builds the equivalent of <c>linear_quantize(min, max, bits)</c> as tract converts it.</summary>
    public static QuantInfo FromMinMax(double min, double max, int bits)
    {
        float scale = (float)((max - min) / 255.0);
        return new QuantInfo
        {
            Format = QuantFormat.MinMaxLinear,
            Min = min,
            Max = max,
            Bits = bits,
            Signed = true,
            Scale = scale,
            ZeroPoint = (long)Math.Truncate(-(min + max) / 2.0 / scale),
        };
    }
}
