using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>One <c>scan</c> entry: body parameter, outer value, axis and chunk (negative: walked from the end).</summary>
internal sealed record ScanInput(string Parameter, Arg Value, int Axis, long Chunk);

/// <summary>One <c>state</c> entry: body parameter, initial value, and the body result that feeds it next turn.</summary>
internal sealed record ScanState(string Parameter, Arg Initial, string Result);

/// <summary>One <c>output</c> entry: body result, <c>full</c> (stacked along an axis) or <c>last</c> (final turn's value).</summary>
internal sealed record ScanOutput(string Result, bool Full, int Axis, long Chunk);

/// <summary>
/// <c>tract_core_scan(body, scan, full, state, output, skip, reset_every_turn, external_state)</c>: a loop over the
/// document fragment named by <c>body</c> (tract <c>nnef/src/ops/core/scan.rs</c>). Each body parameter is bound by
/// exactly one entry: a <c>scan</c> tuple <c>(param, input, axis, chunk)</c> gives turn <c>i</c> the <c>i</c>-th chunk of
/// <c>|chunk|</c> elements along <c>axis</c> (a negative chunk counts chunks from the end; the elements inside a
/// chunk keep their order), a <c>full</c> tuple <c>(param, input)</c> the whole value every turn, a <c>state</c> tuple
/// <c>(param, initial, result)</c> the initial value on the first turn and then the previous turn's result. The
/// number of turns is the first scan input's axis length over <c>|chunk|</c>. The operator returns one value per
/// <c>output</c> tuple <c>(result, 'full' | 'last', axis, chunk)</c>: the result of every turn stacked along
/// <c>axis</c> (from the end when <c>chunk</c> is negative), or the last turn's. tract pairs the state parameters
/// with the body results that are named as states by their order, whatever the names say; a plan whose orders
/// disagree is refused rather than run differently from tract.
/// </summary>
internal sealed record ScanPlan(
    string Body,
    IReadOnlyList<ScanInput> Scans,
    IReadOnlyList<(string Parameter, Arg Value)> Full,
    IReadOnlyList<ScanState> States,
    IReadOnlyList<ScanOutput> Outputs)
{
    /// <summary>Operator name.</summary>
    public const string Op = "tract_core_scan";

    /// <summary>The catalog entry.</summary>
    public static void Register(CatalogBuilder b) =>
        b.Primitive(
            OperatorCatalog.CoreRegistry,
            Op,
            "body: string, scan: any, full: any, state: any, output: any, skip: integer = 0, reset_every_turn: integer = 0, external_state: integer = 0",
            Infer,
            results: -1);

    /// <summary>The fragment a scan node runs, or null when <paramref name="node"/> is not a scan with a literal body name.</summary>
    public static string? BodyOf(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Op == Op && Schema.Argument(node, "body") is StringLiteral s ? s.Value : null;
    }

    private static OperatorSchema Schema => OperatorCatalog.Find(OperatorCatalog.CoreRegistry, Op)!;

    /// <summary>Reads the plan of <paramref name="node"/> and checks it against its body fragment.</summary>
    /// <exception cref="InvalidGraphException">A malformed entry, a parameter bound twice or never, an unknown result.</exception>
    /// <exception cref="UnsupportedFeatureException">Pulse-only settings (<c>skip</c>, <c>external_state</c>).</exception>
    public static ScanPlan Parse(Node node, IReadOnlyList<Fragment> fragments)
    {
        ArgumentNullException.ThrowIfNull(node);
        OperatorSchema schema = Schema;
        string body = schema.Argument(node, "body") is StringLiteral b ? b.Value : throw Bad("body", "the name of a fragment, as a string");
        Fragment fragment = fragments.LastOrDefault(f => f.Name == body && f.Body is not null)
            ?? throw new InvalidGraphException(null, $"scan body '{body}' is not a fragment with a body in this document");
        foreach (string flag in new[] { "skip", "external_state" })
        {
            if (schema.Argument(node, flag) is not IntLiteral { Value: 0 })
            {
                throw new UnsupportedFeatureException(null, null, $"scan with {flag} other than 0 (a pulse/streaming setting the evaluator does not run)");
            }
        }

        string Param(Arg a, string what) => a is StringLiteral s
            ? Match(fragment.Parameters.Select(p => p.Name), s.Value) ?? throw new InvalidGraphException(null, $"scan {what} names '{s.Value}', which is not a parameter of '{body}'")
            : throw Bad(what, "tuples whose first item is a parameter name");
        string Result(Arg a, string what) => a is StringLiteral s
            ? Match(fragment.Results.Select(r => r.Name), s.Value) ?? throw new InvalidGraphException(null, $"scan {what} names '{s.Value}', which is not a result of '{body}'")
            : throw Bad(what, "a result name");

        var scans = new List<ScanInput>();
        foreach (IReadOnlyList<Arg> t in Tuples(schema, node, "scan", 4))
        {
            long chunk = Integer(t[3], "scan");
            scans.Add(chunk == 0
                ? throw Bad("scan", "a non-zero chunk")
                : new ScanInput(Param(t[0], "scan"), t[1], checked((int)Integer(t[2], "scan")), chunk));
        }

        List<(string, Arg)> full = [.. Tuples(schema, node, "full", 2).Select(t => (Param(t[0], "full"), t[1]))];
        List<ScanState> states = [.. Tuples(schema, node, "state", 3).Select(t => new ScanState(Param(t[0], "state"), t[1], Result(t[2], "state")))];
        var outputs = new List<ScanOutput>();
        foreach (IReadOnlyList<Arg> t in Tuples(schema, node, "output", 4))
        {
            string kind = t[1] is StringLiteral k ? k.Value : throw Bad("output", "'full' or 'last' as second item");
            outputs.Add(kind switch
            {
                "full" => new ScanOutput(Result(t[0], "output"), true, checked((int)Integer(t[2], "output")), Integer(t[3], "output")),
                "last" => new ScanOutput(Result(t[0], "output"), false, 0, 1),
                _ => throw Bad("output", $"'full' or 'last' as second item, not '{kind}'"),
            });
        }

        List<string> bound = [.. scans.Select(s => s.Parameter), .. full.Select(f => f.Item1), .. states.Select(s => s.Parameter)];
        foreach (FragmentParameter p in fragment.Parameters)
        {
            int n = bound.Count(b => b == p.Name);
            if (n != 1)
            {
                throw new InvalidGraphException(null, $"scan binds parameter '{p.Name}' of '{body}' {n} times (exactly once is required)");
            }
        }

        if (scans.Count == 0)
        {
            throw new InvalidGraphException(null, "scan needs at least one scanned input (it gives the number of turns)");
        }

        // tract hands the k-th state parameter (in declaration order) the k-th body result marked as a state (in
        // result order); other pairings would silently differ from what the file says.
        string[] stateParams = [.. fragment.Parameters.Select(p => p.Name).Where(p => states.Any(s => s.Parameter == p))];
        string[] stateResults = [.. fragment.Results.Select(r => r.Name).Where(r => states.Any(s => s.Result == r))];
        if (stateResults.Length != stateParams.Length
            || stateParams.Select((p, k) => states.First(s => s.Parameter == p).Result != stateResults[k]).Any(x => x))
        {
            throw new InvalidGraphException(null, $"scan states of '{body}' must list parameters and results in the same order, each result once (tract pairs them by position)");
        }

        return new ScanPlan(body, scans, full, states, outputs);
    }

    /// <summary>The body fragment of this plan.</summary>
    public Fragment Fragment(IReadOnlyList<Fragment> fragments) => fragments.Last(f => f.Name == Body && f.Body is not null);

    /// <summary>Number of turns for a first scanned input whose axis has <paramref name="length"/> elements.</summary>
    /// <exception cref="UnsupportedFeatureException">The length is not a multiple of the chunk.</exception>
    public static long Turns(long length, long chunk)
    {
        long size = Math.Abs(chunk);
        return length % size == 0
            ? length / size
            : throw new UnsupportedFeatureException(null, null, $"scanned axis of {length} elements is not a multiple of the chunk {size} (tract leaves the last chunk's missing elements uninitialized)");
    }

    private static StaticOperand Infer(InferenceCall call)
    {
        ScanPlan plan = Parse(call.Node, call.Graph.Fragments);
        Fragment fragment = plan.Fragment(call.Graph.Fragments);
        var bindings = new Dictionary<string, StaticOperand>(StringComparer.Ordinal);
        Dim? turns = null;
        foreach (ScanInput s in plan.Scans)
        {
            StaticTensor t = call.Input(StaticCoerce.ToTensor(call.Resolve(s.Value), s.Parameter));
            int axis = ShapeRules.Axis(s.Axis, t.Rank, "scan");
            Dim length = t.Shape[axis];
            long size = Math.Abs(s.Chunk);
            Dim n = length.TryGetConstant(out long l) ? Dim.Of(Turns(l, s.Chunk)) : size == 1 ? length
                : throw new UnsupportedFeatureException(null, null, $"scanning the symbolic axis {length} by chunks of {size}");
            turns ??= n;
            Dim[] shape = [.. t.Shape];
            shape[axis] = size;
            bindings[s.Parameter] = new StaticTensor(new TensorType(t.DType, shape), false);
        }

        foreach ((string p, Arg v) in plan.Full)
        {
            StaticTensor t = call.Input(StaticCoerce.ToTensor(call.Resolve(v), p));
            bindings[p] = new StaticTensor(t.Type, false);
        }

        foreach (ScanState s in plan.States)
        {
            StaticTensor t = call.Input(StaticCoerce.ToTensor(call.Resolve(s.Initial), s.Parameter));
            bindings[s.Parameter] = new StaticTensor(t.Type, false);
        }

        IReadOnlyList<StaticOperand> results = call.Engine.RunFragment(fragment, bindings, call.Node);
        var byName = new Dictionary<string, StaticTensor>(StringComparer.Ordinal);
        for (int k = 0; k < fragment.Results.Count; k++)
        {
            byName[fragment.Results[k].Name] = StaticCoerce.ToTensor(results[k], fragment.Results[k].Name);
        }

        foreach (ScanState s in plan.States)
        {
            TensorType before = ((StaticTensor)bindings[s.Parameter]).Type;
            TensorType after = byName[s.Result].Type;
            if (before.Type != after.Type || !before.Shape.SequenceEqual(after.Shape))
            {
                throw new InvalidGraphException(null, $"scan state '{s.Parameter}' is {before} but the body returns {after} for it");
            }
        }

        var outputs = new List<StaticOperand>();
        foreach (ScanOutput o in plan.Outputs)
        {
            TensorType t = byName[o.Result].Type;
            if (!o.Full)
            {
                outputs.Add(new StaticTensor(t, false));
                continue;
            }

            int axis = ShapeRules.Axis(o.Axis, t.Rank, "scan output");
            if (o.Chunk < 0 && !(t.Shape[axis].TryGetConstant(out long one) && one == 1))
            {
                throw new UnsupportedFeatureException(null, null, $"a backward scan output needs one element per turn on axis {axis}, the body gives {t.Shape[axis]} (tract writes only the first of them)");
            }

            Dim[] shape = [.. t.Shape];
            shape[axis] = shape[axis] * turns!;
            outputs.Add(new StaticTensor(new TensorType(t.Type, shape), false));
        }

        return new StaticTuple(outputs);
    }

    private static IEnumerable<IReadOnlyList<Arg>> Tuples(OperatorSchema schema, Node node, string name, int arity)
    {
        Arg list = schema.Argument(node, name) ?? throw Bad(name, "a list of tuples");
        IReadOnlyList<Arg> items = list is ArrayArg a ? a.Items : throw Bad(name, "a list of tuples");
        foreach (Arg item in items)
        {
            yield return item is TupleArg t && t.Items.Count == arity ? t.Items : throw Bad(name, $"tuples of {arity} items");
        }
    }

    private static long Integer(Arg a, string what) => a is IntLiteral i ? i.Value : throw Bad(what, "integer literals for axes and chunks");

    // tract matches a name as written or escaped the way it escapes identifiers.
    private static string? Match(IEnumerable<string> names, string wanted) =>
        names.FirstOrDefault(n => n == wanted) ?? names.FirstOrDefault(n => n == Escape(wanted));

    private static string Escape(string name)
    {
        if (name.Length == 0)
        {
            return name;
        }

        var chars = name.Select(c => char.IsLetterOrDigit(c) ? c : '_');
        return (char.IsLetter(name[0]) || name[0] == '_' ? string.Empty : "_") + string.Concat(chars);
    }

    private static InvalidGraphException Bad(string argument, string expected) =>
        new(null, $"scan argument '{argument}' must be {expected}");
}
