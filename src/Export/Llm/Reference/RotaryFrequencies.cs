using TorchToNnef.Formats.HuggingFace;

namespace TorchToNnef.Export.Llm.Reference;

/// <summary>
/// Rotary inverse frequencies, computed in f32 operation by operation as transformers does
/// (<c>modeling_rope_utils</c>), whatever the model dtype: f16 frequencies lose the low ones (the reference tool's
/// NaN on Llama 3.2-style scaling).
/// </summary>
public static class RotaryFrequencies
{
    /// <summary><c>head_dim / 2</c> inverse frequencies for <paramref name="rope"/>.</summary>
    public static float[] Inverse(RopeSettings rope, int headDim)
    {
        int half = headDim / 2;
        var inv = new float[half];
        float theta = (float)rope.Theta;
        for (int i = 0; i < half; i++)
        {
            // 1.0 / (base ** (arange(0, dim, 2).float() / dim))
            float exponent = (2 * i) / (float)headDim;
            inv[i] = 1f / MathF.Pow(theta, exponent);
        }

        switch (rope.Scaling)
        {
            case RopeScaling.Linear:
                float factor = (float)rope.Factor;
                for (int i = 0; i < half; i++)
                {
                    inv[i] /= factor;
                }

                break;
            case RopeScaling.Llama3:
                ApplyLlama3(inv, rope);
                break;
        }

        return inv;
    }

    // transformers _compute_llama3_parameters: wavelengths longer than the original context divided by the factor,
    // shorter than original/high_freq_factor kept, a linear blend in between.
    private static void ApplyLlama3(float[] inv, RopeSettings rope)
    {
        float factor = (float)rope.Factor;
        float low = (float)rope.LowFreqFactor;
        float high = (float)rope.HighFreqFactor;
        float oldContext = rope.OriginalMaxPositionEmbeddings;
        float lowFreqWavelen = oldContext / low;
        float highFreqWavelen = oldContext / high;
        for (int i = 0; i < inv.Length; i++)
        {
            float wavelen = 2 * MathF.PI / inv[i];
            float scaled = wavelen > lowFreqWavelen ? inv[i] / factor : inv[i];
            bool medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium)
            {
                float smooth = ((oldContext / wavelen) - low) / (high - low);
                scaled = ((1 - smooth) * scaled / factor) + (smooth * scaled);
            }

            inv[i] = scaled;
        }
    }
}
