using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// <c>LSTM</c> and <c>GRU</c> as tract's <c>tract_core_scan</c>, one scan per direction: the body fragment takes one
/// time step <c>x [1, batch, input]</c> (walked from the end for the reverse direction), the direction's weights as
/// full inputs and the hidden (and cell) state, and returns the step's output <c>[1, batch, hidden]</c> stacked along
/// time plus the next states, whose last values are <c>Y_h</c> (and <c>Y_c</c>). The equations are ONNX's with the
/// default activations (sigmoid, tanh, tanh); gates are sliced from one product per weight matrix in ONNX's order
/// (LSTM <c>i, o, f, c</c>, GRU <c>z, r, h</c>). What the translation does not reproduce is refused naming the node:
/// other activations, <c>clip</c>, <c>input_forget</c>, batch-first <c>layout</c>, and <c>sequence_lens</c> other than
/// the full sequence for every batch entry.
/// </summary>
internal static class RecurrentOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["LSTM"] = c => Recurrent(c, lstm: true);
        t["GRU"] = c => Recurrent(c, lstm: false);
    }

    private static void Recurrent(NodeContext c, bool lstm)
    {
        int gates = lstm ? 4 : 3;
        string direction = c.A.GetString("direction", "forward");
        int directions = direction switch
        {
            "forward" or "reverse" => 1,
            "bidirectional" => 2,
            _ => throw c.Invalid($"direction '{direction}' (forward, reverse or bidirectional)"),
        };
        CheckAttributes(c, lstm, directions);
        OnnxValue x = c.In(0);
        if (x.DType != DType.F32 || c.TypeOf(1) != DType.F32 || c.TypeOf(2) != DType.F32)
        {
            throw c.Unsupported($"{c.Node.OpType} on {x.DType.Name()} (f32 only)");
        }

        IReadOnlyList<Dim> xs = c.ShapeOf(0);
        IReadOnlyList<Dim> ws = c.ShapeOf(1);
        IReadOnlyList<Dim> rs = c.ShapeOf(2);
        if (xs.Count != 3 || ws.Count != 3 || rs.Count != 3)
        {
            throw c.Invalid($"X, W and R must have rank 3, got [{string.Join(", ", xs)}], [{string.Join(", ", ws)}], [{string.Join(", ", rs)}]");
        }

        if (!rs[2].TryGetConstant(out long hidden) || !ws[2].TryGetConstant(out long inputSize))
        {
            throw c.Unsupported("W and R need known sizes");
        }

        if (c.A.GetInt("hidden_size", hidden) != hidden || !ws[0].Equals(Dim.Of(directions)) || !rs[0].Equals(Dim.Of(directions))
            || !ws[1].Equals(Dim.Of(gates * hidden)) || !rs[1].Equals(Dim.Of(gates * hidden)) || !xs[2].Equals(Dim.Of(inputSize)))
        {
            throw c.Invalid($"shapes X [{string.Join(", ", xs)}], W [{string.Join(", ", ws)}], R [{string.Join(", ", rs)}] do not fit {directions} direction(s) of hidden size {hidden} and {gates} gates");
        }

        CheckSequenceLengths(c, xs[0]);
        Dim batch = xs[1];
        GraphValue xv = c.Run(0);
        var ys = new List<GraphValue>();
        var hs = new List<GraphValue>();
        var cs = new List<GraphValue>();
        for (int d = 0; d < directions; d++)
        {
            bool reverse = direction == "reverse" || d == 1;
            string hint = directions == 1 ? c.Hint() : $"{c.Hint()}_{(reverse ? "backward" : "forward")}";
            var w = new Weights(c, d, gates, hidden, hint);
            GraphValue h0 = InitialState(c, 5, d, batch, hidden, hint + "_h0");
            GraphValue[] results = lstm
                ? Lstm(c, xv, w, h0, InitialState(c, 6, d, batch, hidden, hint + "_c0"), reverse, hint)
                : Gru(c, xv, w, h0, c.A.GetInt("linear_before_reset", 0) != 0, reverse, hint);
            ys.Add(c.B.Unsqueeze(results[0], [1], hint + "_y"));
            hs.Add(c.B.Unsqueeze(results[1], [0], hint + "_h"));
            if (lstm)
            {
                cs.Add(c.B.Unsqueeze(results[2], [0], hint + "_c"));
            }
        }

        GraphValue Join(List<GraphValue> parts, int axis, int k) => parts.Count == 1 ? parts[0] : c.B.Concat(parts, axis, c.Hint(k));
        c.Out(Join(ys, 1, 0), 0);
        c.Out(Join(hs, 0, 1), 1);
        if (lstm)
        {
            c.Out(Join(cs, 0, 2), 2);
        }
    }

    private static void CheckAttributes(NodeContext c, bool lstm, int directions)
    {
        string[] defaults = lstm ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"];
        if (c.A.Contains("activations"))
        {
            IReadOnlyList<string> given = c.A.GetStrings("activations");
            string[] expected = [.. Enumerable.Repeat(defaults, directions).SelectMany(a => a)];
            if (!given.SequenceEqual(expected, StringComparer.OrdinalIgnoreCase))
            {
                throw c.Unsupported($"activations [{string.Join(", ", given)}] (only the default [{string.Join(", ", expected)}] is translated)");
            }
        }

        foreach (string a in new[] { "activation_alpha", "activation_beta", "clip" })
        {
            if (c.A.Contains(a))
            {
                throw c.Unsupported($"attribute '{a}' (only the default activations without clipping are translated)");
            }
        }

        if (c.A.GetInt("layout", 0) != 0)
        {
            throw c.Unsupported("layout 1 (batch-first tensors); export with layout 0 (sequence first)");
        }

        if (lstm && c.A.GetInt("input_forget", 0) != 0)
        {
            throw c.Unsupported("input_forget 1 (coupled input and forget gates)");
        }
    }

    // sequence_lens is accepted only when it says what no input at all would: every batch entry runs the whole sequence.
    private static void CheckSequenceLengths(NodeContext c, Dim length)
    {
        if (!c.Has(4))
        {
            return;
        }

        Known? lens = c.KnownIn(4);
        if (lens is null || !length.TryGetConstant(out long n) || !lens.IsConcrete || lens.ToLongs().Any(l => l != n))
        {
            throw c.Unsupported($"sequence_lens {(lens is null ? "computed at run time" : lens.ToString())}: only the full sequence length ({length}) for every batch entry is translated");
        }
    }

    private static GraphValue InitialState(NodeContext c, int input, int direction, Dim batch, long hidden, string hint)
    {
        if (c.Has(input))
        {
            IReadOnlyList<Dim> s = c.ShapeOf(input);
            if (s.Count != 3 || !s[1].Equals(batch) || !s[2].Equals(Dim.Of(hidden)))
            {
                throw c.Invalid($"initial state (input {input}) of shape [{string.Join(", ", s)}] for batch {batch} and hidden size {hidden}");
            }

            return Direction(c, c.Run(input), direction, hint);
        }

        GraphValue zero = c.T.Runtime(new ConstValue(hint + "_zero", Known.OfReals(DType.F32, [1, 1], [0.0])));
        return c.B.Broadcast(zero, [batch, hidden], hint);
    }

    // Slice `direction` of axis 0 and drop the axis.
    private static GraphValue Direction(NodeContext c, GraphValue v, int direction, string hint)
    {
        GraphValue one = c.B.Slice(v, [0], [direction], [direction + 1], null, hint + "_slice");
        return c.B.Squeeze(one, [0], hint);
    }

    private static GraphValue Rows(NodeContext c, GraphValue v, int axis, long begin, long end, string hint) =>
        c.B.Slice(v, [axis], [begin], [end], null, hint);

    /// <summary>One direction's weights: W and R <c>[gates·hidden, ·]</c>, the two bias halves <c>[1, gates·hidden]</c>, peepholes <c>[1, 3·hidden]</c>.</summary>
    private sealed class Weights
    {
        public Weights(NodeContext c, int direction, int gates, long hidden, string hint)
        {
            W = Direction(c, c.Run(1), direction, hint + "_W");
            R = Direction(c, c.Run(2), direction, hint + "_R");
            if (c.Has(3))
            {
                IReadOnlyList<Dim> bs = c.ShapeOf(3);
                if (bs.Count != 2 || !bs[1].Equals(Dim.Of(2 * gates * hidden)))
                {
                    throw c.Invalid($"B of shape [{string.Join(", ", bs)}], expected [directions, {2 * gates * hidden}]");
                }

                GraphValue b = c.B.Slice(c.Run(3), [0], [direction], [direction + 1], null, hint + "_B");
                Wb = Rows(c, b, 1, 0, gates * hidden, hint + "_Wb");
                Rb = Rows(c, b, 1, gates * hidden, 2 * gates * hidden, hint + "_Rb");
            }

            if (c.Has(7))
            {
                IReadOnlyList<Dim> ps = c.ShapeOf(7);
                if (ps.Count != 2 || !ps[1].Equals(Dim.Of(3 * hidden)))
                {
                    throw c.Invalid($"P of shape [{string.Join(", ", ps)}], expected [directions, {3 * hidden}]");
                }

                P = c.B.Slice(c.Run(7), [0], [direction], [direction + 1], null, hint + "_P");
            }

            Hidden = hidden;
        }

        public GraphValue W { get; }

        public GraphValue R { get; }

        public GraphValue? Wb { get; }

        public GraphValue? Rb { get; }

        public GraphValue? P { get; }

        public long Hidden { get; }
    }

    private static string FreshFragmentName(NodeContext c, string kind)
    {
        for (int i = 0; ; i++)
        {
            string name = $"{kind}_scan_body_{i}";
            if (!c.B.Graph.Fragments.Any(f => f.Name == name))
            {
                return name;
            }
        }
    }

    private static TensorType Type(params Dim[] shape) => new(DatumType.F32, shape);

    private static GraphValue Gate(FragmentBuilder f, GraphValue g, long index, long hidden, string name) =>
        f.Slice(g, [1], [index * hidden], [(index + 1) * hidden], null, name);

    // i, o, f, c gates; Ct = ft·Ct-1 + it·ct, Ht = ot·tanh(Ct); peepholes add P·C to i and f (previous C) and o (new C).
    private static GraphValue[] Lstm(NodeContext c, GraphValue x, Weights w, GraphValue h0, GraphValue c0, bool reverse, string hint)
    {
        Dim batch = x.Shape[1];
        long h = w.Hidden;
        GraphValue? bias = w.Wb is null ? null : c.B.Add(w.Wb, w.Rb!, hint + "_bias");
        string body = FreshFragmentName(c, "lstm");
        c.B.DefineFragment(body, f =>
        {
            GraphValue xt = f.Parameter("x", Type(1, batch, x.Shape[2]));
            GraphValue wi = f.Parameter("W", Type(4 * h, x.Shape[2]));
            GraphValue ri = f.Parameter("R", Type(4 * h, h));
            GraphValue? bi = w.Wb is null ? null : f.Parameter("B", Type(1, 4 * h));
            GraphValue? pi = w.P is null ? null : f.Parameter("P", Type(1, 3 * h));
            GraphValue hp = f.Parameter("h", Type(batch, h));
            GraphValue cp = f.Parameter("c", Type(batch, h));
            GraphValue step = f.Squeeze(xt, [0], "x_t");
            GraphValue gx = f.Linear(step, wi, bi is null ? null : bi.ToArg(), "gates_x");
            GraphValue gh = f.MatMul(hp, ri, transposeB: true, name: "gates_h");
            GraphValue g = f.Add(gx, gh, "gates");
            GraphValue i = Gate(f, g, 0, h, "i");
            GraphValue o = Gate(f, g, 1, h, "o");
            GraphValue fg = Gate(f, g, 2, h, "f");
            GraphValue cc = Gate(f, g, 3, h, "c_in");
            if (pi is not null)
            {
                i = f.Add(i, f.Mul(Gate(f, pi, 0, h, "p_i"), cp, "peep_i"), "i_peep");
                fg = f.Add(fg, f.Mul(Gate(f, pi, 2, h, "p_f"), cp, "peep_f"), "f_peep");
            }

            GraphValue cn = f.Add(f.Mul(f.Sigmoid(fg, "f_t"), cp, "keep"), f.Mul(f.Sigmoid(i, "i_t"), f.Unary("tanh", cc, "c_t"), "write"), "c_next");
            if (pi is not null)
            {
                o = f.Add(o, f.Mul(Gate(f, pi, 1, h, "p_o"), cn, "peep_o"), "o_peep");
            }

            GraphValue hn = f.Mul(f.Sigmoid(o, "o_t"), f.Unary("tanh", cn, "c_act"), "h_next");
            f.Result(f.Unsqueeze(hn, [0], "y"));
            f.Result(hn);
            f.Result(cn);
        });

        List<Arg> full = [Arg.Tuple(Arg.String("W"), w.W), Arg.Tuple(Arg.String("R"), w.R)];
        if (bias is not null)
        {
            full.Add(Arg.Tuple(Arg.String("B"), bias));
        }

        if (w.P is not null)
        {
            full.Add(Arg.Tuple(Arg.String("P"), w.P));
        }

        return RunScan(c, body, x, reverse, full, [("h", h0, "h_next"), ("c", c0, "c_next")], ["y", "h_next", "c_next"], hint);
    }

    // z, r, h gates; Ht = (1 - zt)·ht + zt·Ht-1, the candidate's recurrent product taken before (linear_before_reset)
    // or after the reset gate.
    private static GraphValue[] Gru(NodeContext c, GraphValue x, Weights w, GraphValue h0, bool linearBeforeReset, bool reverse, string hint)
    {
        Dim batch = x.Shape[1];
        long h = w.Hidden;
        bool biased = w.Wb is not null;
        string body = FreshFragmentName(c, "gru");
        c.B.DefineFragment(body, f =>
        {
            GraphValue xt = f.Parameter("x", Type(1, batch, x.Shape[2]));
            GraphValue wi = f.Parameter("W", Type(3 * h, x.Shape[2]));
            GraphValue ri = f.Parameter("R", Type(3 * h, h));
            GraphValue? wb = biased ? f.Parameter("Wb", Type(1, 3 * h)) : null;
            GraphValue? rb = biased ? f.Parameter("Rb", Type(1, 3 * h)) : null;
            GraphValue hp = f.Parameter("h", Type(batch, h));
            GraphValue step = f.Squeeze(xt, [0], "x_t");
            GraphValue gx = f.Linear(step, wi, wb?.ToArg(), "gates_x");
            GraphValue candidate;
            GraphValue z;
            GraphValue r;
            if (linearBeforeReset)
            {
                GraphValue gh = f.Linear(hp, ri, rb?.ToArg(), "gates_h");
                z = f.Sigmoid(f.Add(Gate(f, gx, 0, h, "x_z"), Gate(f, gh, 0, h, "h_z"), "z"), "z_t");
                r = f.Sigmoid(f.Add(Gate(f, gx, 1, h, "x_r"), Gate(f, gh, 1, h, "h_r"), "r"), "r_t");
                candidate = f.Add(Gate(f, gx, 2, h, "x_h"), f.Mul(r, Gate(f, gh, 2, h, "h_h"), "reset"), "h_in");
            }
            else
            {
                GraphValue rzr = f.Slice(ri, [0], [0], [2 * h], null, "R_zr");
                GraphValue rh = f.Slice(ri, [0], [2 * h], [3 * h], null, "R_h");
                GraphValue? rbzr = rb is null ? null : f.Slice(rb, [1], [0], [2 * h], null, "Rb_zr");
                GraphValue? rbh = rb is null ? null : f.Slice(rb, [1], [2 * h], [3 * h], null, "Rb_h");
                GraphValue gh = f.Linear(hp, rzr, rbzr?.ToArg(), "gates_h");
                z = f.Sigmoid(f.Add(Gate(f, gx, 0, h, "x_z"), Gate(f, gh, 0, h, "h_z"), "z"), "z_t");
                r = f.Sigmoid(f.Add(Gate(f, gx, 1, h, "x_r"), Gate(f, gh, 1, h, "h_r"), "r"), "r_t");
                GraphValue reset = f.Linear(f.Mul(r, hp, "reset_h"), rh, rbh?.ToArg(), "reset");
                candidate = f.Add(Gate(f, gx, 2, h, "x_h"), reset, "h_in");
            }

            GraphValue ht = f.Unary("tanh", candidate, "h_t");
            GraphValue hn = f.Add(f.Mul(f.Sub(Arg.Float(1.0), z, "update"), ht, "new_part"), f.Mul(z, hp, "old_part"), "h_next");
            f.Result(f.Unsqueeze(hn, [0], "y"));
            f.Result(hn);
        });

        List<Arg> full = [Arg.Tuple(Arg.String("W"), w.W), Arg.Tuple(Arg.String("R"), w.R)];
        if (biased)
        {
            full.Add(Arg.Tuple(Arg.String("Wb"), w.Wb!));
            full.Add(Arg.Tuple(Arg.String("Rb"), w.Rb!));
        }

        return RunScan(c, body, x, reverse, full, [("h", h0, "h_next")], ["y", "h_next"], hint);
    }

    // tract_core_scan over axis 0 of x (from the end when reverse): y stacked along time, the states' last values.
    private static GraphValue[] RunScan(NodeContext c, string body, GraphValue x, bool reverse, List<Arg> full, (string Param, GraphValue Init, string Result)[] states, string[] results, string hint)
    {
        long chunk = reverse ? -1 : 1;
        Arg scan = Arg.Array(Arg.Tuple(Arg.String("x"), x, Arg.Int(0), Arg.Int(chunk)));
        Arg state = Arg.Array(states.Select(s => Arg.Tuple(Arg.String(s.Param), s.Init, Arg.String(s.Result))));
        Arg output = Arg.Array(results.Select((r, k) => k == 0
            ? Arg.Tuple(Arg.String(r), Arg.String("full"), Arg.Int(0), Arg.Int(chunk))
            : Arg.Tuple(Arg.String(r), Arg.String("last"), Arg.Int(0), Arg.Int(1))));
        IReadOnlyList<GraphValue> values = c.B.Call(
            ScanPlan.Op,
            [],
            [new("body", Arg.String(body)), new("scan", scan), new("full", Arg.Array(full)), new("state", state), new("output", output)],
            hint + "_scan",
            results.Length);
        if (c.B.Graph.FindProducer(values[0].Name) is Node node)
        {
            // tract writes a scan's results as a tuple.
            node.OutputForm = OutputForm.Tuple;
        }

        return [.. values];
    }
}
