using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// Element-wise arithmetic, comparison and logic with numpy broadcasting (operands aligned on the right, as ONNX does,
/// not on the left as tract would), folded when every operand is known: <c>Add Sub Mul Div Pow Mod Min Max Sum Mean
/// Equal Less Greater LessOrEqual GreaterOrEqual And Or Xor Not Where</c> and the one-input math operators.
/// </summary>
internal static class ElementWiseOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["Add"] = c => Arith(c, "add", (x, y) => x + y, (x, y) => x + y);
        t["Sub"] = c => Arith(c, "sub", (x, y) => x - y, (x, y) => x - y);
        t["Mul"] = c => Arith(c, "mul", (x, y) => x * y, (x, y) => x * y);
        t["Div"] = c => Arith(c, "div", (x, y) => x / y, DivideInt);
        t["Pow"] = Pow;
        t["Mod"] = Mod;
        t["Min"] = c => Variadic(c, "min", Math.Min, (x, y) => Dim.Compare(x, y) is int s ? (s <= 0 ? x : y) : null);
        t["Max"] = c => Variadic(c, "max", Math.Max, (x, y) => Dim.Compare(x, y) is int s ? (s >= 0 ? x : y) : null);
        t["Sum"] = c => Variadic(c, "add", (x, y) => x + y, (x, y) => x + y);
        t["Mean"] = Mean;
        t["Equal"] = c => Compare(c, "eq", s => s == 0);
        t["Less"] = c => Compare(c, "lt", s => s < 0);
        t["Greater"] = c => Compare(c, "gt", s => s > 0);
        t["LessOrEqual"] = c => Compare(c, "le", s => s <= 0);
        t["GreaterOrEqual"] = c => Compare(c, "ge", s => s >= 0);
        t["And"] = c => Logic(c, "and", (x, y) => x && y);
        t["Or"] = c => Logic(c, "or", (x, y) => x || y);
        t["Xor"] = c => Logic(c, "ne", (x, y) => x != y);
        t["Not"] = Not;
        t["Where"] = Where;

        Unary(t, "Neg", "neg", v => -v, d => -d);
        Unary(t, "Abs", "abs", Math.Abs, d => Dim.Compare(d, 0) is int s ? (s < 0 ? -d : d) : null);
        Unary(t, "Sqrt", "sqrt", Math.Sqrt, null);
        Unary(t, "Exp", "exp", Math.Exp, null);
        Unary(t, "Log", "log", Math.Log, null);
        Unary(t, "Reciprocal", "recip", v => 1 / v, null);
        Unary(t, "Floor", "floor", Math.Floor, d => d);
        Unary(t, "Ceil", "ceil", Math.Ceiling, d => d);
        Unary(t, "Round", "tract_core_round_even", v => Math.Round(v, MidpointRounding.ToEven), d => d);
        Unary(t, "Sign", "sign", v => Math.Sign(v), d => Dim.Compare(d, 0) is int s ? (Dim)s : null);
        Unary(t, "Tanh", "tanh", Math.Tanh, null);
        Unary(t, "Sigmoid", "sigmoid", v => 1 / (1 + Math.Exp(-v)), null);
        Unary(t, "Erf", "tract_core_erf", null, null);
        Unary(t, "Sin", "sin", Math.Sin, null);
        Unary(t, "Cos", "cos", Math.Cos, null);
        Unary(t, "Tan", "tan", Math.Tan, null);
        Unary(t, "Asin", "asin", Math.Asin, null);
        Unary(t, "Acos", "acos", Math.Acos, null);
        Unary(t, "Atan", "atan", Math.Atan, null);
        Unary(t, "Sinh", "sinh", Math.Sinh, null);
        Unary(t, "Cosh", "cosh", Math.Cosh, null);
        Unary(t, "Asinh", "asinh", Math.Asinh, null);
        Unary(t, "Acosh", "acosh", Math.Acosh, null);
        Unary(t, "Atanh", "atanh", Math.Atanh, null);
    }

    /// <summary>
    /// A binary operator with ONNX broadcasting: folded when both operands are known, else emitted on the operands
    /// aligned to the result's rank (a one-element f32 constant as a literal).
    /// </summary>
    public static OnnxValue Binary(NodeContext c, string op, OnnxValue a, OnnxValue b, DType result, Func<double, double, double>? real, Func<Dim, Dim, Dim?>? integer, string? hint = null)
    {
        if (Translator.KnownOf(a) is Known ka && Translator.KnownOf(b) is Known kb
            && KnownOps.Binary(ka, kb, result, real, integer) is Known folded)
        {
            return new ConstValue(hint ?? c.Hint(), folded);
        }

        return new RuntimeValue(Emit(c, op, a, b, hint));
    }

    /// <summary>Emits <paramref name="op"/> on two operands aligned on the right (no folding).</summary>
    public static GraphValue Emit(NodeContext c, string op, OnnxValue a, OnnxValue b, string? hint = null)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        DType peer = a is RuntimeValue ? a.DType : b.DType;
        return c.B.Binary(op, c.T.Operand(a, rank, peer), c.T.Operand(b, rank, peer), hint ?? c.Hint());
    }

    private static void Arith(NodeContext c, string op, Func<double, double, double> real, Func<Dim, Dim, Dim?> integer) =>
        c.Out(Binary(c, op, c.In(0), c.In(1), c.TypeOf(0), real, integer));

    // ONNX integer division truncates toward zero.
    private static Dim? DivideInt(Dim x, Dim y)
    {
        if (y.TryGetConstant(out long q))
        {
            return q == 0 ? null : x.TryGetConstant(out long v) ? v / q : Dim.Compare(x, 0) >= 0 ? x / q : null;
        }

        return x.TryDivideExact(y, out Dim exact) ? exact : null;
    }

    private static void Pow(NodeContext c)
    {
        OnnxValue x = c.In(0);
        OnnxValue y = c.In(1);
        if (Translator.KnownOf(y) is { Count: 1, IsConcrete: true } ky && x is RuntimeValue && x.DType.IsFloat() && y.Rank <= x.Rank)
        {
            double e = ky.ToDoubles()[0];
            if (e == 1)
            {
                c.Out(x);
                return;
            }

            if (e == 2)
            {
                c.Out(c.B.Unary("square", c.Run(0), c.Hint()));
                return;
            }

            if (e == 0.5)
            {
                c.Out(c.B.Unary("sqrt", c.Run(0), c.Hint()));
                return;
            }
        }

        if (y.DType != x.DType)
        {
            // Pow takes an exponent of any numeric type: bring it to the base's.
            y = y is ConstValue cy && cy.Known is Known k && KnownOps.Cast(k, x.DType) is Known cast
                ? new ConstValue(cy.Name, cast)
                : new RuntimeValue(c.B.Cast(c.T.Runtime(y), Translator.Datum(x.DType)));
        }

        c.Out(Binary(c, "pow", x, y, x.DType, Math.Pow, (a, b) =>
            a.TryGetConstant(out long va) && b.TryGetConstant(out long vb) && vb >= 0 ? (long)Math.Pow(va, vb) : null));
    }

    private static void Mod(NodeContext c)
    {
        bool fmod = c.A.GetInt("fmod", 0) != 0;
        OnnxValue a = c.In(0);
        OnnxValue b = c.In(1);
        Known? folded = Translator.KnownOf(a) is Known ka && Translator.KnownOf(b) is Known kb
            ? KnownOps.Binary(ka, kb, a.DType, (x, y) => fmod ? x % y : x - (y * Math.Floor(x / y)),
                (x, y) => x.TryGetConstant(out long vx) && y.TryGetConstant(out long vy) && vy != 0 ? (fmod ? vx % vy : ((vx % vy) + vy) % vy) : null)
            : null;
        if (folded is not null)
        {
            c.Out(folded);
            return;
        }

        if (!a.DType.IsFloat() || !fmod)
        {
            // a - b * floor(a / b) (or trunc for fmod) is only exact for floats.
            if (a.DType.IsFloat())
            {
                GraphValue q = c.B.Unary("floor", Emit(c, "div", a, b, c.Hint() + "_q"));
                c.Out(Emit(c, "sub", a, new RuntimeValue(Emit(c, "mul", b, new RuntimeValue(q), c.Hint() + "_m"))));
                return;
            }

            c.Out(IntegerMod(c, a, b, fmod));
            return;
        }

        // fmod: a - b * trunc(a / b), trunc(v) = sign(v) * floor(|v|).
        GraphValue ratio = Emit(c, "div", a, b, c.Hint() + "_q");
        GraphValue trunc = c.B.Mul(c.B.Unary("sign", ratio), c.B.Unary("floor", c.B.Unary("abs", ratio)));
        c.Out(Emit(c, "sub", a, new RuntimeValue(Emit(c, "mul", b, new RuntimeValue(trunc), c.Hint() + "_m"))));
    }

    /// <summary>
    /// Integer <c>Mod</c>: <c>t = a - b·div(a, b)</c> is congruent to <c>a</c> with <c>|t| &lt; |b|</c> whether tract's
    /// division truncates (its integer division) or floors (its shift for a constant power of two); where <c>t</c> is
    /// non-zero with the sign opposite to the one ONNX asks for (the divisor's, or the dividend's for fmod), it is
    /// moved by <c>b</c> toward that sign.
    /// </summary>
    private static GraphValue IntegerMod(NodeContext c, OnnxValue a, OnnxValue b, bool fmod)
    {
        string hint = c.Hint();
        int rank = Math.Max(a.Rank, b.Rank);
        var zero = new ConstValue(hint + "_zero", Known.OfInts(a.DType, [], [Dim.Of(0)]));
        GraphValue q = Emit(c, "div", a, b, hint + "_q");
        var t = new RuntimeValue(Emit(c, "sub", a, new RuntimeValue(Emit(c, "mul", b, new RuntimeValue(q), hint + "_m")), hint + "_t"));
        GraphValue negative = c.B.AlignRank(Emit(c, "lt", fmod ? a : b, zero, hint + "_negative"), rank);
        GraphValue above = Emit(c, "gt", t, zero, hint + "_above");
        GraphValue below = Emit(c, "lt", t, zero, hint + "_below");
        GraphValue wrongSign = c.B.Select(negative, above, below, hint + "_wrong_sign");
        GraphValue moved = Emit(c, fmod ? "sub" : "add", t, b, hint + "_moved");
        return c.B.Select(wrongSign, moved, t.Value, hint);
    }

    private static void Variadic(NodeContext c, string op, Func<double, double, double> real, Func<Dim, Dim, Dim?> integer)
    {
        OnnxValue acc = c.In(0);
        for (int i = 1; i < c.Node.Inputs.Count; i++)
        {
            acc = Binary(c, op, acc, c.In(i), c.TypeOf(0), real, integer, i == c.Node.Inputs.Count - 1 ? null : $"{c.Hint()}_{i}");
        }

        c.Out(acc);
    }

    private static void Mean(NodeContext c)
    {
        OnnxValue acc = c.In(0);
        int n = c.Node.Inputs.Count;
        for (int i = 1; i < n; i++)
        {
            acc = Binary(c, "add", acc, c.In(i), c.TypeOf(0), (x, y) => x + y, null, $"{c.Hint()}_{i}");
        }

        c.Out(n == 1 ? acc : Binary(c, "div", acc, new ConstValue(c.Hint() + "_n", Known.OfReals(c.TypeOf(0), [], [n])), c.TypeOf(0), (x, y) => x / y, null));
    }

    private static void Compare(NodeContext c, string op, Func<int, bool> test) =>
        c.Out(Binary(c, op, c.In(0), c.In(1), DType.Bool,
            (x, y) => test(x.CompareTo(y)) ? 1 : 0,
            (x, y) => Dim.Compare(x, y) is int s ? (test(s) ? 1 : 0) : null));

    private static void Logic(NodeContext c, string op, Func<bool, bool, bool> f) =>
        c.Out(Binary(c, op, c.In(0), c.In(1), DType.Bool, null,
            (x, y) => x.TryGetConstant(out long vx) && y.TryGetConstant(out long vy) ? (f(vx != 0, vy != 0) ? 1 : 0) : null));

    private static void Not(NodeContext c)
    {
        if (c.KnownIn(0) is Known k && KnownOps.Unary(k, null, d => d.TryGetConstant(out long v) ? (v == 0 ? 1 : 0) : null) is Known folded)
        {
            c.Out(folded);
            return;
        }

        c.Out(c.B.Unary("not", c.Run(0), c.Hint()));
    }

    private static void Where(NodeContext c)
    {
        OnnxValue cond = c.In(0);
        OnnxValue x = c.In(1);
        OnnxValue y = c.In(2);
        if (Translator.KnownOf(cond) is Known kc && kc.IsConcrete && Translator.KnownOf(x) is Known kx && Translator.KnownOf(y) is Known ky)
        {
            long[]? shape = KnownOps.BroadcastShape(kc.Shape, kx.Shape) is long[] s1 ? KnownOps.BroadcastShape(s1, ky.Shape) : null;
            if (shape is not null)
            {
                Known bc = KnownOps.BroadcastTo(kc, shape);
                Known bx = KnownOps.BroadcastTo(kx, shape);
                Known by = KnownOps.BroadcastTo(ky, shape);
                long[] flags = bc.ToLongs();
                double[] yReals = by.IsReal ? by.Reals! : [];
                Dim[] yInts = by.IsReal ? [] : by.ToDims();
                c.Out(bx.IsReal
                    ? Known.OfReals(bx.DType, shape, [.. flags.Select((f, n) => f != 0 ? bx.Reals![n] : yReals[n])])
                    : Known.OfInts(bx.DType, shape, [.. flags.Select((f, n) => f != 0 ? bx.Ints![n] : yInts[n])]));
                return;
            }
        }

        if (Translator.KnownOf(cond) is Known all && all.IsConcrete && all.ToLongs().Distinct().Count() == 1 && x.Rank >= cond.Rank && y.Rank >= cond.Rank)
        {
            // A condition that is the same everywhere picks one side (broadcast to the other's shape).
            OnnxValue picked = all.ToLongs()[0] != 0 ? x : y;
            OnnxValue other = ReferenceEquals(picked, x) ? y : x;
            if (picked.Rank >= other.Rank)
            {
                c.Out(picked);
                return;
            }
        }

        int rank = Math.Max(cond.Rank, Math.Max(x.Rank, y.Rank));
        DType peer = x is RuntimeValue ? x.DType : y.DType;
        c.Out(c.B.Select(c.T.Aligned(cond, rank), c.T.Operand(x, rank, peer), c.T.Operand(y, rank, peer), c.Hint()));
    }

    private static void Unary(Dictionary<string, OpTranslation> t, string onnx, string nnef, Func<double, double>? real, Func<Dim, Dim?>? integer) =>
        t[onnx] = c =>
        {
            if (c.KnownIn(0) is Known k && KnownOps.Unary(k, real, integer) is Known folded)
            {
                c.Out(folded);
                return;
            }

            c.Out(c.B.Unary(nnef, c.Run(0), c.Hint()));
        };
}
