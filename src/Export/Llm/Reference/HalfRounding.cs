using System.Numerics.Tensors;

namespace TorchToNnef.Export.Llm.Reference;

/// <summary>Rounds f32 values to the nearest f16 (ties to even, overflow to infinity), keeping them as f32.</summary>
internal static class HalfRounding
{
    private const int Chunk = 512;

    /// <summary>Rounds every value of <paramref name="values"/> in place.</summary>
    public static void Round(Span<float> values)
    {
        Span<Half> half = stackalloc Half[Chunk];
        for (int i = 0; i < values.Length; i += Chunk)
        {
            Span<float> part = values.Slice(i, Math.Min(Chunk, values.Length - i));
            Span<Half> h = half[..part.Length];
            TensorPrimitives.ConvertToHalf(part, h);
            TensorPrimitives.ConvertToSingle(h, part);
        }
    }

    /// <summary>One value rounded to f16.</summary>
    public static float Round(float value) => (float)(Half)value;
}
