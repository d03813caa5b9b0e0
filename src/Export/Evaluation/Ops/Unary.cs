using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// One-input element-wise operators (<c>math/mod.rs</c>, <c>nn/mod.rs</c>): f32 through the C library functions
/// (<c>exp</c>, <c>sin</c>, ...) or tract's rational approximations (sigmoid, tanh, erf); f16 computed in f32 and rounded
/// once (two roundings for <c>rsqrt</c> = <c>sqrt</c> then <c>recip</c>; sigmoid and tanh use tract's f16 fits in f16
/// arithmetic); quantized inputs are dequantized, mapped in f32 and requantized to the <c>graph.quant</c> type or their own.
/// </summary>
internal static class Unary
{
    private sealed record Kernel(Func<float, float>? F32, Func<Half, Half>? F16 = null, Func<double, double>? F64 = null, Func<long, long>? Int = null);

    private static readonly Dictionary<string, Kernel> Kernels = new(StringComparer.Ordinal)
    {
        ["exp"] = new(MathF.Exp, F64: Math.Exp),
        ["log"] = new(MathF.Log, F64: Math.Log),
        ["sin"] = new(MathF.Sin, F64: Math.Sin),
        ["cos"] = new(MathF.Cos, F64: Math.Cos),
        ["tan"] = new(MathF.Tan, F64: Math.Tan),
        ["acos"] = new(MathF.Acos, F64: Math.Acos),
        ["asin"] = new(MathF.Asin, F64: Math.Asin),
        ["atan"] = new(MathF.Atan, F64: Math.Atan),
        ["cosh"] = new(MathF.Cosh, F64: Math.Cosh),
        ["sinh"] = new(MathF.Sinh, F64: Math.Sinh),
        ["acosh"] = new(MathF.Acosh, F64: Math.Acosh),
        ["asinh"] = new(MathF.Asinh, F64: Math.Asinh),
        ["atanh"] = new(MathF.Atanh, F64: Math.Atanh),
        ["abs"] = new(MathF.Abs, F64: Math.Abs, Int: static x => unchecked(x < 0 ? -x : x)),
        ["neg"] = new(static x => -x, F64: static x => -x, Int: static x => unchecked(-x)),
        ["sign"] = new(static x => x == 0 || float.IsNaN(x) ? x : MathF.Sign(x), F64: static x => x == 0 || double.IsNaN(x) ? x : Math.Sign(x), Int: static x => Math.Sign(x)),
        ["recip"] = new(static x => 1f / x, F64: static x => 1.0 / x),
        ["floor"] = new(MathF.Floor, F64: Math.Floor),
        ["ceil"] = new(MathF.Ceiling, F64: Math.Ceiling),
        ["round"] = new(static x => MathF.Round(x, MidpointRounding.AwayFromZero), F64: static x => Math.Round(x, MidpointRounding.AwayFromZero)),
        ["tract_core_round_even"] = new(static x => MathF.Round(x, MidpointRounding.ToEven), F64: static x => Math.Round(x, MidpointRounding.ToEven)),
        ["square"] = new(static x => x * x, F64: static x => x * x, Int: static x => unchecked(x * x)),
        ["sqrt"] = new(MathF.Sqrt, F64: Math.Sqrt),
        ["rsqrt"] = new(static x => 1f / MathF.Sqrt(x), F16: static x => (Half)(1f / (float)(Half)MathF.Sqrt((float)x)), F64: static x => 1.0 / Math.Sqrt(x)),
        ["tanh"] = new(Activations.Tanh, F16: Activations.Tanh, F64: Math.Tanh),
        ["sigmoid"] = new(Activations.Sigmoid, F16: Activations.Sigmoid, F64: static x => 1.0 / (1.0 + Math.Exp(-x))),
        ["tract_core_erf"] = new(Activations.Erf),
    };

    public static void Register(OpRegistry nnef, OpRegistry core)
    {
        foreach (string name in Kernels.Keys)
        {
            (name.StartsWith("tract_core_", StringComparison.Ordinal) ? core : nnef).UnitElementWise(name, inv => Invoke(inv, name));
        }

        nnef.UnitElementWise("not", inv => inv.Result(Not(inv.PositionalTensor(0).Value)));
        nnef.Primitive("leaky_relu", LeakyRelu);
    }

    /// <summary>Applies the element-wise operator <paramref name="name"/> to a plain value.</summary>
    public static TensorValue Apply(string name, TensorValue x)
    {
        Kernel k = Kernels[name];
        Array data = x.Type.Kind switch
        {
            DatumKind.F32 when k.F32 is not null => Array.ConvertAll(x.Items<float>(), k.F32.Invoke),
            DatumKind.F16 when k.F16 is not null => Array.ConvertAll(x.Items<Half>(), k.F16.Invoke),
            DatumKind.F16 when k.F32 is not null => Array.ConvertAll(x.Items<Half>(), v => (Half)k.F32((float)v)),
            DatumKind.F64 when k.F64 is not null => Array.ConvertAll(x.Items<double>(), k.F64.Invoke),
            _ when (x.Type.IsInteger || x.Type.Kind == DatumKind.TDim) && k.Int is not null =>
                Cast.To(TensorValue.Wrap(DatumType.I64, x.ShapeArray, Array.ConvertAll(Cast.ToLongs(x), k.Int.Invoke)), x.Type.Kind == DatumKind.TDim ? DatumType.I64 : x.Type).Data!,
            _ => throw new UnsupportedFeatureException(null, null, $"{name} is not defined on {x.Type}"),
        };
        DatumType type = x.Type.Kind == DatumKind.TDim ? DatumType.I64 : x.Type;
        return TensorValue.Wrap(type, x.ShapeArray, data);
    }

    private static TensorOperand Invoke(Invocation inv, string name)
    {
        TensorValue x = inv.PositionalTensor(0).Value;
        DatumType? cDt = inv.OutputQuant;
        TensorValue y = x.Type.IsQuantized
            ? Cast.To(Apply(name, Cast.To(x, DatumType.F32)), cDt ?? x.Type)
            : Apply(name, x);
        if (cDt is DatumType c && y.Type != c)
        {
            y = Cast.To(y, c);
        }

        return inv.Result(y);
    }

    private static TensorValue Not(TensorValue x)
    {
        bool[] b = Cast.To(x, DatumType.Bool).Items<bool>();
        return TensorValue.Wrap(DatumType.Bool, x.ShapeArray, Array.ConvertAll(b, v => !v));
    }

    private static TensorOperand LeakyRelu(Invocation inv)
    {
        TensorValue x = inv.Tensor("x");
        float alpha = inv.Float("alpha");
        Array data = x.Type.Kind switch
        {
            DatumKind.F32 => Array.ConvertAll(x.Items<float>(), v => v < 0 ? alpha * v : v),
            DatumKind.F16 => Array.ConvertAll(x.Items<Half>(), v => v < Half.Zero ? (Half)alpha * v : v),
            DatumKind.F64 => Array.ConvertAll(x.Items<double>(), v => v < 0 ? alpha * v : v),
            _ => throw new UnsupportedFeatureException(null, null, $"leaky_relu is not defined on {x.Type}"),
        };
        return inv.Result(TensorValue.Wrap(x.Type, x.ShapeArray, data));
    }
}
