using System.Globalization;
using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;

namespace TorchToNnef.Export.Verification;

/// <summary>How one output compares with its reference.</summary>
/// <param name="Name">Output name.</param>
/// <param name="ComparedAs">Type both sides were compared in (after the cast rule).</param>
/// <param name="Tolerance">The tolerance applied.</param>
/// <param name="MaxAbsError">Largest <c>|expected − got|</c> (0 for matching NaNs and same-sign infinities).</param>
/// <param name="MaxRelError">Largest <c>|expected − got| / |got|</c> (infinite when got is 0 and expected is not).</param>
/// <param name="Outliers">Elements outside <c>atol + rtol · |got|</c>.</param>
/// <param name="Count">Number of elements.</param>
/// <param name="Passed">Whether the outliers stay within the tolerated fraction.</param>
/// <param name="Detail">First outlier or shape mismatch, for the report; null when there is none.</param>
public sealed record OutputComparison(
    string Name,
    DatumType ComparedAs,
    Tolerance Tolerance,
    double MaxAbsError,
    double MaxRelError,
    long Outliers,
    long Count,
    bool Passed,
    string? Detail)
{
    /// <summary>
    /// Compares as tract's <c>--assert-output-bundle</c> does (<c>cli/src/utils.rs</c> <c>check_outputs</c>, then
    /// <c>Tensor::close_enough</c>): the expected tensor is cast to the computed one's type when the unquantized types
    /// agree, or from f32 to f16 with <paramref name="allowFloatCasts"/>; the tolerance follows the expected tensor's
    /// (cast) type; both sides are compared as f32 (quantized values dequantized) with
    /// <c>|e − g| ≤ atol + rtol · |g|</c>, NaN matching NaN and infinities of the same sign matching.
    /// </summary>
    public static OutputComparison Compare(string name, TensorValue expected, TensorValue got, Approximation level, bool allowFloatCasts = true)
    {
        if ((allowFloatCasts && expected.Type == DatumType.F32 && got.Type == DatumType.F16) || expected.Type.Unquantized == got.Type.Unquantized)
        {
            expected = Cast.To(expected, got.Type);
        }

        Tolerance tol = Tolerance.For(level, expected.Type);
        if (!expected.Shape.SequenceEqual(got.Shape))
        {
            return new OutputComparison(name, expected.Type, tol, double.PositiveInfinity, double.PositiveInfinity, got.ElementCount, got.ElementCount, false,
                $"shape mismatch: expected {Layout.Format(expected.Shape)}, got {Layout.Format(got.Shape)}");
        }

        float[] a = AsF32(expected, name);
        float[] b = AsF32(got, name);
        float atol = (float)tol.Atol;
        float rtol = (float)tol.Rtol;
        double maxAbs = 0;
        double maxRel = 0;
        long outliers = 0;
        int first = -1;
        for (int i = 0; i < a.Length; i++)
        {
            float x = a[i];
            float y = b[i];
            bool same = (float.IsNaN(x) && float.IsNaN(y)) || (float.IsInfinity(x) && float.IsInfinity(y) && MathF.Sign(x) == MathF.Sign(y));
            float diff = same ? 0 : MathF.Abs(x - y);
            if (float.IsNaN(diff))
            {
                diff = float.PositiveInfinity;
            }

            maxAbs = Math.Max(maxAbs, diff);
            maxRel = Math.Max(maxRel, diff == 0 ? 0 : y == 0 ? double.PositiveInfinity : diff / Math.Abs((double)y));
            if (!(same || MathF.Abs(x - y) <= atol + (rtol * MathF.Abs(y))))
            {
                outliers++;
                if (first < 0)
                {
                    first = i;
                }
            }
        }

        bool passed = a.Length == 0 || (double)outliers / a.Length <= tol.Outliers;
        string? detail = first < 0
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"first outlier at {Index(first, got.Shape)}: expected {a[first]:R}, got {b[first]:R}");
        return new OutputComparison(name, expected.Type, tol, maxAbs, maxRel, outliers, a.Length, passed, detail);
    }

    private static float[] AsF32(TensorValue v, string name)
    {
        if (!v.Type.IsNumber && v.Type.Kind != DatumKind.Bool)
        {
            throw new UnsupportedFeatureException(null, name, $"cannot compare {v.Type} values numerically");
        }

        return Cast.To(v, DatumType.F32).Items<float>();
    }

    private static string Index(int flat, ReadOnlySpan<int> shape)
    {
        var index = new int[shape.Length];
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            index[i] = shape[i] == 0 ? 0 : flat % shape[i];
            flat = shape[i] == 0 ? 0 : flat / shape[i];
        }

        return Layout.Format(index);
    }
}
