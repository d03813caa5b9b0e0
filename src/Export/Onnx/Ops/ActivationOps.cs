using System.Globalization;
using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// Activations: <c>Relu LeakyRelu PRelu Clip HardSigmoid HardSwish Elu Selu Celu Softplus Softsign Gelu Mish
/// ThresholdedRelu</c>, written with tract's built-ins and stdlib fragments (<c>relu</c>, <c>leaky_relu</c>,
/// <c>prelu</c>, <c>tract_core_hard_swish</c>, <c>softplus</c>) or their formulas.
/// </summary>
internal static class ActivationOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["Relu"] = c => Apply(c, x => c.B.Unary("relu", x, c.Hint()), v => Math.Max(v, 0));
        t["LeakyRelu"] = c =>
        {
            double alpha = c.A.GetFloat("alpha", 0.01f);
            Apply(c, x => c.B.Apply("leaky_relu", [x], [new("alpha", Arg.Float(alpha))], c.Hint()), v => v < 0 ? alpha * v : v);
        };
        t["PRelu"] = PRelu;
        t["Clip"] = Clip;
        t["HardSigmoid"] = c =>
        {
            double alpha = c.A.GetFloat("alpha", 0.2f);
            double beta = c.A.GetFloat("beta", 0.5f);
            Apply(c, x =>
            {
                GraphValue y = c.B.Add(c.B.Mul(x, Arg.Float(alpha), c.Hint() + "_scaled"), Arg.Float(beta), c.Hint() + "_shifted");
                return c.B.Binary("max", c.B.Binary("min", y, Arg.Float(1.0), c.Hint() + "_min"), Arg.Float(0.0), c.Hint());
            }, v => Math.Max(0, Math.Min(1, (alpha * v) + beta)));
        };
        t["HardSwish"] = c => Apply(c, x => c.B.Unary("tract_core_hard_swish", x, c.Hint()), v => v * Math.Max(0, Math.Min(1, (v / 6) + 0.5)));
        t["Elu"] = c => Elu(c, c.A.GetFloat("alpha", 1f), 1.0);
        t["Selu"] = c => Elu(c, c.A.GetFloat("alpha", 1.67326319217681884765625f), c.A.GetFloat("gamma", 1.05070102214813232421875f));
        t["Celu"] = Celu;
        t["Softplus"] = c => Apply(c, x => c.B.Unary("softplus", x, c.Hint()), v => Math.Log(Math.Exp(v) + 1));
        t["Softsign"] = c => Apply(c, x => c.B.Div(x, c.B.Add(c.B.Unary("abs", x), Arg.Float(1.0)), c.Hint()), v => v / (1 + Math.Abs(v)));
        t["Gelu"] = Gelu;
        t["Mish"] = c => Apply(c, x => c.B.Mul(x, c.B.Unary("tanh", c.B.Unary("softplus", x)), c.Hint()), v => v * Math.Tanh(Math.Log(Math.Exp(v) + 1)));
        t["ThresholdedRelu"] = c =>
        {
            double alpha = c.A.GetFloat("alpha", 1f);
            Apply(c, x => c.B.Select(c.B.Binary("gt", x, Arg.Float(alpha)), x, Arg.Float(0.0), c.Hint()), v => v > alpha ? v : 0);
        };
    }

    /// <summary>Folds a float constant input with <paramref name="fold"/>, else emits <paramref name="emit"/> on it (f32 only for the literals).</summary>
    private static void Apply(NodeContext c, Func<GraphValue, GraphValue> emit, Func<double, double> fold)
    {
        if (c.KnownIn(0) is Known k && k.IsReal)
        {
            c.Out(Known.OfReals(k.DType, k.Shape, [.. k.Reals!.Select(fold)]));
            return;
        }

        if (c.TypeOf(0) != DType.F32)
        {
            throw c.Unsupported($"{c.Node.OpType} on {c.TypeOf(0).Name()} is not supported (f32 only)");
        }

        c.Out(emit(c.Run(0)));
    }

    private static void PRelu(NodeContext c)
    {
        OnnxValue x = c.In(0);
        OnnxValue slope = c.In(1);
        if (slope.Rank > x.Rank)
        {
            throw c.Invalid($"slope of rank {slope.Rank} does not broadcast to the input's rank {x.Rank}");
        }

        c.Out(c.B.Apply("prelu", [c.Run(0), c.T.Operand(slope, x.Rank, x.DType)], null, c.Hint()));
    }

    private static void Clip(NodeContext c)
    {
        OnnxValue x = c.In(0);
        OnnxValue? low;
        OnnxValue? high;
        if (c.Opset < 11)
        {
            low = c.A.Find("min") is null ? null : Scalar(c, "min", c.A.GetFloat("min"));
            high = c.A.Find("max") is null ? null : Scalar(c, "max", c.A.GetFloat("max"));
        }
        else
        {
            low = c.Has(1) ? c.In(1) : null;
            high = c.Has(2) ? c.In(2) : null;
        }

        OnnxValue y = x;
        if (low is not null)
        {
            y = ElementWiseOps.Binary(c, "max", y, low, x.DType, Math.Max, (a, b) => Dim.Compare(a, b) is int s ? (s >= 0 ? a : b) : null, high is null ? null : c.Hint() + "_low");
        }

        if (high is not null)
        {
            y = ElementWiseOps.Binary(c, "min", y, high, x.DType, Math.Min, (a, b) => Dim.Compare(a, b) is int s ? (s <= 0 ? a : b) : null);
        }

        c.Out(y);
    }

    private static ConstValue Scalar(NodeContext c, string what, double value) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{c.Hint()}_{what}"), Known.OfReals(c.TypeOf(0), [], [value]));

    private static void Elu(NodeContext c, double alpha, double gamma) =>
        Apply(c, x =>
        {
            GraphValue negative = c.B.Mul(c.B.Sub(c.B.Exp(x), Arg.Float(1.0)), Arg.Float(alpha * gamma));
            GraphValue positive = gamma == 1 ? x : c.B.Mul(x, Arg.Float(gamma));
            return c.B.Select(c.B.Binary("lt", x, Arg.Float(0.0)), negative, positive, c.Hint());
        }, v => v < 0 ? alpha * gamma * (Math.Exp(v) - 1) : gamma * v);

    private static void Celu(NodeContext c)
    {
        double alpha = c.A.GetFloat("alpha", 1f);
        Apply(c, x =>
        {
            // max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
            GraphValue e = c.B.Mul(c.B.Sub(c.B.Exp(c.B.Div(x, Arg.Float(alpha))), Arg.Float(1.0)), Arg.Float(alpha));
            return c.B.Add(c.B.Binary("max", x, Arg.Float(0.0)), c.B.Binary("min", e, Arg.Float(0.0)), c.Hint());
        }, v => Math.Max(0, v) + Math.Min(0, alpha * (Math.Exp(v / alpha) - 1)));
    }

    private static void Gelu(NodeContext c)
    {
        string approximate = c.A.GetString("approximate", "none");
        if (approximate == "none")
        {
            // 0.5 * x * (1 + erf(x / sqrt(2)))
            Apply(c, x =>
            {
                GraphValue erf = c.B.Unary("tract_core_erf", c.B.Mul(x, Arg.Float(0.7071067811865476)));
                return c.B.Mul(c.B.Mul(x, Arg.Float(0.5)), c.B.Add(erf, Arg.Float(1.0)), c.Hint());
            }, v => 0.5 * v * (1 + Erf(v / Math.Sqrt(2))));
        }
        else if (approximate == "tanh")
        {
            // 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
            Apply(c, x =>
            {
                GraphValue cube = c.B.Mul(c.B.Unary("square", x), x);
                GraphValue inner = c.B.Mul(c.B.Add(x, c.B.Mul(cube, Arg.Float(0.044715))), Arg.Float(Math.Sqrt(2 / Math.PI)));
                return c.B.Mul(c.B.Mul(x, Arg.Float(0.5)), c.B.Add(c.B.Unary("tanh", inner), Arg.Float(1.0)), c.Hint());
            }, v => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + (0.044715 * v * v * v)))));
        }
        else
        {
            throw c.Unsupported($"approximate '{approximate}' is not a Gelu mode");
        }
    }

    // Numerical Recipes' erfc approximation: relative error below 1.2e-7, enough to fold an f32 constant.
    private static double Erf(double x)
    {
        double t = 1 / (1 + (0.5 * Math.Abs(x)));
        double y = 1 - (t * Math.Exp((-x * x) - 1.26551223 + (t * (1.00002368 + (t * (0.37409196 + (t * (0.09678418 + (t * (-0.18628806
            + (t * (0.27886807 + (t * (-1.13520398 + (t * (1.48851587 + (t * (-0.82215223 + (t * 0.17087277)))))))))))))))))));
        return x >= 0 ? y : -y;
    }
}
