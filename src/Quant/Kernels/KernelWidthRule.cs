namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// The one rule by which every family of vector kernels chooses its width once per process — the Q4_0 quantizer's
/// (<see cref="Q40Kernels"/>) and the evaluator's: the widest width the family can run on this machine, unless the
/// environment variable <see cref="ForceVariable"/> names a narrower one (<c>scalar</c>, <c>v128</c>, <c>v256</c>,
/// <c>v512</c>, or the <c>vector…</c> spellings, any case). A wider or unknown name is ignored.
/// </summary>
internal static class KernelWidthRule
{
    /// <summary>Name of the environment variable that forces a narrower width.</summary>
    public const string ForceVariable = "T2N_FORCE_KERNEL";

    /// <summary>
    /// The width to run: widths are the values of <typeparamref name="TWidth"/> from scalar to the widest (declaration
    /// order = value order); the widest one <paramref name="isSupported"/> accepts, or the forced one when narrower.
    /// </summary>
    public static TWidth Select<TWidth>(string? forced, Func<TWidth, bool> isSupported)
        where TWidth : struct, Enum
    {
        TWidth[] widths = Enum.GetValues<TWidth>();
        int best = 0;
        for (int i = 0; i < widths.Length; i++)
        {
            if (isSupported(widths[i]))
            {
                best = i;
            }
        }

        int? wanted = ForcedRank(forced);
        return widths[wanted is int w && w < best ? w : best];
    }

    /// <summary>The rank (0 = scalar ... 3 = 512 bits) a forced name asks for, or null for an unknown name.</summary>
    public static int? ForcedRank(string? forced) => forced?.Trim().ToLowerInvariant() switch
    {
        "scalar" => 0,
        "v128" or "vector128" => 1,
        "v256" or "vector256" => 2,
        "v512" or "vector512" => 3,
        _ => null,
    };
}
