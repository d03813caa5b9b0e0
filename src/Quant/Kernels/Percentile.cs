namespace TorchToNnef.Quant.Kernels;

/// <summary>torch's <c>quantile</c> (linear interpolation) of the absolute values of one group, in f32.</summary>
internal static class Percentile
{
    /// <summary>
    /// Sorts |x| ascending, takes <c>rank = f32(q * (n - 1))</c> and interpolates between the two neighbours with
    /// torch's <c>lerp</c> (the formula switches at a weight of 0.5). A NaN anywhere gives NaN, as torch does.
    /// </summary>
    public static float OfAbs(ReadOnlySpan<float> group, float q)
    {
        Span<float> v = stackalloc float[group.Length];
        for (int i = 0; i < group.Length; i++)
        {
            float a = MathF.Abs(group[i]);
            if (float.IsNaN(a))
            {
                return float.NaN;
            }

            v[i] = a;
        }

        v.Sort();
        float rank = q * (group.Length - 1);
        float lo = MathF.Floor(rank);
        float hi = MathF.Ceiling(rank);
        float w = rank - lo;
        float below = v[(int)lo];
        float above = v[(int)hi];
        return w < 0.5f ? below + (w * (above - below)) : above - ((above - below) * (1f - w));
    }
}
