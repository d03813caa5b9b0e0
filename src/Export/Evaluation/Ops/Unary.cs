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
    private enum Fn
    {
        Exp, Log, Sin, Cos, Tan, Acos, Asin, Atan, Cosh, Sinh, Acosh, Asinh, Atanh,
        Abs, Neg, Sign, Recip, Floor, Ceil, Round, RoundEven, Square, Sqrt, Rsqrt, Tanh, Sigmoid, Erf,
    }

    private static readonly Dictionary<string, Fn> Functions = new(StringComparer.Ordinal)
    {
        ["exp"] = Fn.Exp, ["log"] = Fn.Log, ["sin"] = Fn.Sin, ["cos"] = Fn.Cos, ["tan"] = Fn.Tan, ["acos"] = Fn.Acos,
        ["asin"] = Fn.Asin, ["atan"] = Fn.Atan, ["cosh"] = Fn.Cosh, ["sinh"] = Fn.Sinh, ["acosh"] = Fn.Acosh,
        ["asinh"] = Fn.Asinh, ["atanh"] = Fn.Atanh, ["abs"] = Fn.Abs, ["neg"] = Fn.Neg, ["sign"] = Fn.Sign,
        ["recip"] = Fn.Recip, ["floor"] = Fn.Floor, ["ceil"] = Fn.Ceil, ["round"] = Fn.Round,
        ["tract_core_round_even"] = Fn.RoundEven, ["square"] = Fn.Square, ["sqrt"] = Fn.Sqrt, ["rsqrt"] = Fn.Rsqrt,
        ["tanh"] = Fn.Tanh, ["sigmoid"] = Fn.Sigmoid, ["tract_core_erf"] = Fn.Erf,
    };

    public static void Register(OpRegistry nnef, OpRegistry core)
    {
        foreach (string name in Functions.Keys)
        {
            (name.StartsWith("tract_core_", StringComparison.Ordinal) ? core : nnef).UnitElementWise(name, inv => Invoke(inv, name));
        }

        nnef.UnitElementWise("not", inv => inv.Result(Not(inv.PositionalTensor(0).Value)));
        nnef.Primitive("leaky_relu", LeakyRelu);
    }

    /// <summary>Applies the element-wise operator <paramref name="name"/> to a plain value.</summary>
    public static TensorValue Apply(string name, TensorValue x, int threads = 1)
    {
        Fn f = Functions[name];
        DatumType type = x.Type.Kind == DatumKind.TDim ? DatumType.I64 : x.Type;
        Array data = x.Type.Kind switch
        {
            DatumKind.F32 => Single(f, x.Items<float>(), threads),
            DatumKind.F16 => HalfValues(f, x.Items<Half>(), threads),
            DatumKind.F64 when f != Fn.Erf => Doubles(f, x.Items<double>()),
            DatumKind.I8 when IsIntegerFunction(f) => Integer<sbyte>(f, x.Items<sbyte>()),
            DatumKind.I16 when IsIntegerFunction(f) => Integer<short>(f, x.Items<short>()),
            DatumKind.I32 when IsIntegerFunction(f) => Integer<int>(f, x.Items<int>()),
            DatumKind.I64 or DatumKind.TDim when IsIntegerFunction(f) => Integer<long>(f, x.Items<long>()),
            DatumKind.U8 when IsIntegerFunction(f) => Integer<byte>(f, x.Items<byte>()),
            DatumKind.U16 when IsIntegerFunction(f) => Integer<ushort>(f, x.Items<ushort>()),
            DatumKind.U32 when IsIntegerFunction(f) => Integer<uint>(f, x.Items<uint>()),
            DatumKind.U64 when IsIntegerFunction(f) => Integer<ulong>(f, x.Items<ulong>()),
            _ => throw new UnsupportedFeatureException(null, null, $"{name} is not defined on {x.Type}"),
        };
        return TensorValue.Wrap(type, x.ShapeArray, data);
    }

    private static bool IsIntegerFunction(Fn f) => f is Fn.Abs or Fn.Neg or Fn.Sign or Fn.Square;

    // f32: vectorized operator structs where the vector form gives the scalar bits, the C library's functions otherwise.
    private static float[] Single(Fn f, float[] x, int threads)
    {
        float[] y = TensorPool.Allocate<float>(x.Length);
        KernelWidth w = KernelWidths.Active;
        switch (f)
        {
            case Fn.Exp: ElementWiseLoops.Unary<ExpOperator, float>(w, x, y, threads); break;
            case Fn.Abs: ElementWiseLoops.Unary<AbsOperator<float>, float>(w, x, y, threads); break;
            case Fn.Neg: ElementWiseLoops.Unary<NegateOperator<float>, float>(w, x, y, threads); break;
            case Fn.Square: ElementWiseLoops.Unary<SquareOperator<float>, float>(w, x, y, threads); break;
            case Fn.Sqrt: ElementWiseLoops.Unary<SqrtOperator<float>, float>(w, x, y, threads); break;
            case Fn.Recip: ElementWiseLoops.Unary<ReciprocalOperator<float>, float>(w, x, y, threads); break;
            case Fn.Rsqrt: ElementWiseLoops.Unary<ReciprocalSqrtOperator<float>, float>(w, x, y, threads); break;
            case Fn.Floor: ElementWiseLoops.Unary<FloorOperator, float>(w, x, y, threads); break;
            case Fn.Ceil: ElementWiseLoops.Unary<CeilingOperator, float>(w, x, y, threads); break;
            case Fn.RoundEven: ElementWiseLoops.Unary<RoundEvenOperator, float>(w, x, y, threads); break;
            case Fn.Tanh: ElementWiseLoops.Unary<TanhOperator, float>(w, x, y, threads); break;
            case Fn.Sigmoid: ElementWiseLoops.Unary<SigmoidOperator, float>(w, x, y, threads); break;
            default:
                for (int i = 0; i < x.Length; i++)
                {
                    y[i] = ScalarSingle(f, x[i]);
                }

                break;
        }

        return y;
    }

    private static float ScalarSingle(Fn f, float x) => f switch
    {
        Fn.Log => MathF.Log(x),
        Fn.Sin => MathF.Sin(x),
        Fn.Cos => MathF.Cos(x),
        Fn.Tan => MathF.Tan(x),
        Fn.Acos => MathF.Acos(x),
        Fn.Asin => MathF.Asin(x),
        Fn.Atan => MathF.Atan(x),
        Fn.Cosh => MathF.Cosh(x),
        Fn.Sinh => MathF.Sinh(x),
        Fn.Acosh => MathF.Acosh(x),
        Fn.Asinh => MathF.Asinh(x),
        Fn.Atanh => MathF.Atanh(x),
        Fn.Sign => x == 0 || float.IsNaN(x) ? x : MathF.Sign(x),
        Fn.Round => MathF.Round(x, MidpointRounding.AwayFromZero),
        Fn.Erf => Activations.Erf(x),
        _ => throw new InvalidOperationException($"{f} has a vector path"),
    };

    // f16: tract's f16 sigmoid and tanh fits in f16 arithmetic, rsqrt rounded after the sqrt and after the division;
    // everything else computed in f32 on exactly widened values and rounded once.
    private static Half[] HalfValues(Fn f, Half[] x, int threads)
    {
        var y = new Half[x.Length];
        switch (f)
        {
            case Fn.Sigmoid:
            case Fn.Tanh:
                for (int i = 0; i < x.Length; i++)
                {
                    y[i] = f == Fn.Sigmoid ? Activations.Sigmoid(x[i]) : Activations.Tanh(x[i]);
                }

                return y;
            case Fn.Rsqrt:
                for (int i = 0; i < x.Length; i++)
                {
                    y[i] = (Half)(1f / (float)(Half)MathF.Sqrt((float)x[i]));
                }

                return y;
        }

        var wide = new float[x.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(x, wide);
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(Single(f, wide, threads), y);
        return y;
    }

    private static double[] Doubles(Fn f, double[] x)
    {
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = Double(f, x[i]);
        }

        return y;
    }

    private static double Double(Fn f, double x) => f switch
    {
        Fn.Exp => Math.Exp(x),
        Fn.Log => Math.Log(x),
        Fn.Sin => Math.Sin(x),
        Fn.Cos => Math.Cos(x),
        Fn.Tan => Math.Tan(x),
        Fn.Acos => Math.Acos(x),
        Fn.Asin => Math.Asin(x),
        Fn.Atan => Math.Atan(x),
        Fn.Cosh => Math.Cosh(x),
        Fn.Sinh => Math.Sinh(x),
        Fn.Acosh => Math.Acosh(x),
        Fn.Asinh => Math.Asinh(x),
        Fn.Atanh => Math.Atanh(x),
        Fn.Abs => Math.Abs(x),
        Fn.Neg => -x,
        Fn.Sign => x == 0 || double.IsNaN(x) ? x : Math.Sign(x),
        Fn.Recip => 1.0 / x,
        Fn.Floor => Math.Floor(x),
        Fn.Ceil => Math.Ceiling(x),
        Fn.Round => Math.Round(x, MidpointRounding.AwayFromZero),
        Fn.RoundEven => Math.Round(x, MidpointRounding.ToEven),
        Fn.Square => x * x,
        Fn.Sqrt => Math.Sqrt(x),
        Fn.Rsqrt => 1.0 / Math.Sqrt(x),
        Fn.Tanh => Math.Tanh(x),
        Fn.Sigmoid => 1.0 / (1.0 + Math.Exp(-x)),
        _ => throw new UnsupportedFeatureException(null, null, $"{f} is not defined on f64"),
    };

    // Integers in their own width, wrapping (abs and neg of the minimum stay the minimum).
    private static T[] Integer<T>(Fn f, T[] x)
        where T : struct, System.Numerics.IBinaryInteger<T>
    {
        var y = new T[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            T v = x[i];
            y[i] = f switch
            {
                Fn.Abs => T.IsNegative(v) ? unchecked(-v) : v,
                Fn.Neg => unchecked(-v),
                Fn.Sign => T.IsZero(v) ? T.Zero : T.IsNegative(v) ? unchecked(-T.One) : T.One,
                _ => unchecked(v * v),
            };
        }

        return y;
    }

    private static TensorOperand Invoke(Invocation inv, string name)
    {
        TensorValue x = inv.PositionalTensor(0).Value;
        DatumType? cDt = inv.OutputQuant;
        TensorValue y = x.Type.IsQuantized
            ? Cast.To(Apply(name, Cast.To(x, DatumType.F32)), cDt ?? x.Type)
            : Apply(name, x, Gemm.Threads(inv.Context.ParallelOptions));
        if (cDt is DatumType c && y.Type != c)
        {
            y = Cast.To(y, c);
        }

        return inv.Result(y);
    }

    private static TensorValue Not(TensorValue x)
    {
        bool[] b = Cast.To(x, DatumType.Bool).Items<bool>();
        var r = new bool[b.Length];
        for (int i = 0; i < b.Length; i++)
        {
            r[i] = !b[i];
        }

        return TensorValue.Wrap(DatumType.Bool, x.ShapeArray, r);
    }

    private static TensorOperand LeakyRelu(Invocation inv)
    {
        TensorValue x = inv.Tensor("x");
        float alpha = inv.Float("alpha");
        Array data = x.Type.Kind switch
        {
            DatumKind.F32 => LeakyReluSingle(x.Items<float>(), alpha, Gemm.Threads(inv.Context.ParallelOptions)),
            DatumKind.F16 => LeakyRelu(x.Items<Half>(), (Half)alpha),
            DatumKind.F64 => LeakyRelu(x.Items<double>(), (double)alpha),
            _ => throw new UnsupportedFeatureException(null, null, $"leaky_relu is not defined on {x.Type}"),
        };
        return inv.Result(TensorValue.Wrap(x.Type, x.ShapeArray, data));
    }

    // f32: vectorized into a pooled array, like the other f32 element-wise operators.
    private static float[] LeakyReluSingle(float[] x, float alpha, int threads)
    {
        float[] y = TensorPool.Allocate<float>(x.Length);
        LeakyReluKernel.Run(KernelWidths.Active, x, y, alpha, threads);
        return y;
    }

    // v < 0 ? alpha · v : v, in the value's own type (f16 products rounded to f16).
    private static T[] LeakyRelu<T>(T[] x, T alpha)
        where T : struct, System.Numerics.IFloatingPointIeee754<T>
    {
        var y = new T[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = x[i] < T.Zero ? alpha * x[i] : x[i];
        }

        return y;
    }
}
