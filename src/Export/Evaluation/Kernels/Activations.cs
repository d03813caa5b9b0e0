namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// tract's rational approximations of sigmoid, tanh and erf (<c>linalg/src/generic/{sigmoid,tanh,erf}.rs</c>): the
/// same coefficients and evaluation order, so results match tract's generic kernels to the ulp. The f16 variants are
/// evaluated in f16 arithmetic (each operation rounded to f16), as tract's <c>hsigmoid</c> / <c>htanh</c>.
/// </summary>
internal static class Activations
{
    /// <summary>f32 sigmoid: odd degree-13 over even degree-6 fit of <c>sigmoid(x) - 0.5</c> on ±18.6, clamped to [0, 1].</summary>
    public static float Sigmoid(float x)
    {
        x = Math.Clamp(x, -18.6f, 18.6f);
        float x2 = x * x;
        float p = -4.433153405e-18f;
        p = (x2 * p) + 1.169974371e-14f;
        p = (x2 * p) + -1.875289645e-11f;
        p = (x2 * p) + 4.257889523e-8f;
        p = (x2 * p) + 0.00004811817576f;
        p = (x2 * p) + 0.008163842030f;
        p = (x2 * p) + 0.2499999971f;
        p *= x;
        float q = 3.922935744e-6f;
        q = (x2 * q) + 0.001524872358f;
        q = (x2 * q) + 0.1159886749f;
        q = (x2 * q) + 1.0f;
        return Math.Clamp((p / q) + 0.5f, 0f, 1f);
    }

    /// <summary>f16 sigmoid: degree-5 over degree-2 fit on ±6.92, every operation in f16.</summary>
    public static Half Sigmoid(Half x)
    {
        Half low = (Half)(-6.92f);
        Half high = (Half)6.92f;
        x = x < low ? low : x > high ? high : x;
        Half x2 = x * x;
        Half p = (Half)(-0.0000124702f);
        p = (x2 * p) + (Half)0.00400222f;
        p = (x2 * p) + (Half)0.249895f;
        p *= x;
        Half q = (Half)0.098734f;
        q = (x2 * q) + (Half)1.0f;
        return (p / q) + (Half)0.5f;
    }

    /// <summary>f32 tanh: odd degree-13 over even degree-6 fit on ±8.9.</summary>
    public static float Tanh(float x)
    {
        x = Math.Clamp(x, -8.9f, 8.9f);
        float x2 = x * x;
        float p = -8.488492677e-14f;
        p = (x2 * p) + 5.277853000e-11f;
        p = (x2 * p) + -2.022500419e-8f;
        p = (x2 * p) + 0.00001115424833f;
        p = (x2 * p) + 0.003103950131f;
        p = (x2 * p) + 0.1308400453f;
        p = (x2 * p) + 0.9999999934f;
        p *= x;
        float q = 0.0002546136580f;
        q = (x2 * q) + 0.02449515379f;
        q = (x2 * q) + 0.4641733162f;
        q = (x2 * q) + 1.0f;
        return p / q;
    }

    /// <summary>f16 tanh: degree-3 over degree-4 fit on ±3.84, every operation in f16.</summary>
    public static Half Tanh(Half x)
    {
        Half low = (Half)(-3.84f);
        Half high = (Half)3.84f;
        x = x < low ? low : x > high ? high : x;
        Half x2 = x * x;
        Half p = (Half)0.082654955f;
        p = (x2 * p) + (Half)0.99963124f;
        p *= x;
        Half q = (Half)0.0065383179f;
        q = (x2 * q) + (Half)0.41401828f;
        q = (x2 * q) + (Half)1.0f;
        return p / q;
    }

    /// <summary>f32 erf: Abramowitz-Stegun 7.1.28, <c>1 - 1 / (1 + a1 x + ... + a6 x^6)^16</c> with the sign restored.</summary>
    public static float Erf(float x)
    {
        float abs = MathF.Abs(x);
        float y = 0.0000430638f * abs;
        y = (0.0002765672f + y) * abs;
        y = (0.0001520143f + y) * abs;
        y = (0.0092705272f + y) * abs;
        y = (0.0422820123f + y) * abs;
        y = (0.0705230784f + y) * abs;
        float b = y + 1.0f;
        b *= b;
        b *= b;
        b *= b;
        b *= b; // powi(16) as repeated squaring
        y = 1.0f - (1.0f / b);
        return MathF.CopySign(y, x);
    }
}
