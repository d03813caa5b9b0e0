using System.Globalization;

namespace TorchToNnef.Formats.Onnx;

/// <summary>
/// One dimension of a declared ONNX shape: a known size, a named symbol (<c>dim_param</c>, e.g. <c>batch</c>), or
/// unknown (neither given). Symbols with the same name denote the same size across the graph.
/// </summary>
public readonly record struct OnnxDim
{
    private OnnxDim(long? value, string? symbol)
    {
        Value = value;
        Symbol = symbol;
    }

    /// <summary>The size when known.</summary>
    public long? Value { get; }

    /// <summary>The symbol's name when the dimension is named.</summary>
    public string? Symbol { get; }

    /// <summary>True when the size is a known integer.</summary>
    public bool IsKnown => Value.HasValue;

    /// <summary>True when the dimension is neither known nor named.</summary>
    public bool IsUnknown => Value is null && Symbol is null;

    /// <summary>A known size.</summary>
    public static OnnxDim Known(long value) => new(value, null);

    /// <summary>A named dimension.</summary>
    public static OnnxDim Named(string symbol) => new(null, symbol);

    /// <summary>A dimension with neither size nor name.</summary>
    public static OnnxDim Unknown => default;

    /// <summary>The size, the symbol's name, or <c>?</c>.</summary>
    public override string ToString() =>
        Value?.ToString(CultureInfo.InvariantCulture) ?? Symbol ?? "?";
}
