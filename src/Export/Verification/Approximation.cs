using TorchToNnef.Export.Evaluation;

namespace TorchToNnef.Export.Verification;

/// <summary>tract's <c>--approx</c> levels (<c>data/src/tensor.rs</c> <c>Approximation</c>).</summary>
public enum Approximation
{
    /// <summary>Bit-exact (atol = rtol = 0).</summary>
    Exact,
    /// <summary>1e-7 / 1e-7 (f16: 1e-3 / 1e-3).</summary>
    Close,
    /// <summary>1e-4 / 5e-4 (f16: 1e-3 / 5e-3; quantized: atol = the scale, rtol 0). torch_to_nnef's default.</summary>
    Approximate,
    /// <summary>5e-2 / 1e-2.</summary>
    VeryApproximate,
    /// <summary>0.1 / 0.05 with 1e-4 of outliers tolerated.</summary>
    SuperApproximate,
    /// <summary>0.2 / 0.1 with 5e-4 of outliers tolerated.</summary>
    UltraApproximate,
}

/// <summary>Absolute and relative tolerance and the fraction of elements allowed outside them.</summary>
/// <param name="Atol">Absolute tolerance.</param>
/// <param name="Rtol">Relative tolerance (times |got|).</param>
/// <param name="Outliers">Fraction of elements allowed to fail.</param>
public readonly record struct Tolerance(double Atol, double Rtol, double Outliers)
{
    /// <summary>
    /// The tolerance tract applies for <paramref name="level"/> when the (possibly cast) expected tensor has type
    /// <paramref name="type"/>, exactly as <c>Approximation::atol_rtol_outliers</c>.
    /// </summary>
    public static Tolerance For(Approximation level, DatumType type) => (level, type) switch
    {
        (Approximation.Exact, _) => new(0, 0, 0),
        (Approximation.Close, { Kind: DatumKind.F16, IsQuantized: false }) => new(1e-3, 1e-3, 0),
        (Approximation.Approximate, { Kind: DatumKind.F16, IsQuantized: false }) => new(1e-3, 5e-3, 0),
        (Approximation.Approximate, { IsQuantized: true }) => new(type.ZpScale.Scale, 0, 0),
        (Approximation.Close, _) => new(1e-7, 1e-7, 0),
        (Approximation.Approximate, _) => new(1e-4, 5e-4, 0),
        (Approximation.VeryApproximate, _) => new(5e-2, 1e-2, 0),
        (Approximation.SuperApproximate, _) => new(0.1, 0.05, 0.0001),
        (Approximation.UltraApproximate, _) => new(0.2, 0.1, 0.0005),
        _ => throw new ArgumentOutOfRangeException(nameof(level)),
    };

    /// <summary>
    /// The name tract and torch_to_nnef spell <paramref name="level"/> with (<c>exact close approximate very super
    /// ultra</c>), what messages print and <see cref="TryParseLevel"/> reads back.
    /// </summary>
    public static string NameOf(Approximation level) => level switch
    {
        Approximation.Exact => "exact",
        Approximation.Close => "close",
        Approximation.Approximate => "approximate",
        Approximation.VeryApproximate => "very",
        Approximation.SuperApproximate => "super",
        Approximation.UltraApproximate => "ultra",
        _ => throw new ArgumentOutOfRangeException(nameof(level)),
    };

    /// <summary>Parses the names torch_to_nnef and tract use: <c>exact close approximate very super ultra</c>.</summary>
    public static bool TryParseLevel(string text, out Approximation level)
    {
        Approximation? parsed = text switch
        {
            "exact" => Approximation.Exact,
            "close" => Approximation.Close,
            "approximate" => Approximation.Approximate,
            "very" => Approximation.VeryApproximate,
            "super" => Approximation.SuperApproximate,
            "ultra" => Approximation.UltraApproximate,
            _ => null,
        };
        level = parsed ?? default;
        return parsed is not null;
    }
}
