using TorchToNnef.Errors;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Translation;

/// <summary>One ONNX node being translated: typed access to its inputs and attributes, and where its outputs go.</summary>
internal sealed class NodeContext
{
    private readonly HashSet<int> _skipped = [];

    public NodeContext(Translator translator, OnnxNode node)
    {
        T = translator;
        Node = node;
    }

    public Translator T { get; }

    public OnnxNode Node { get; }

    public GraphBuilder B => T.B;

    public OnnxAttributes A => Node.Attributes;

    public int Opset => T.Opset;

    /// <summary>True when input <paramref name="i"/> is given.</summary>
    public bool Has(int i) => Node.HasInput(i);

    /// <summary>Input <paramref name="i"/> (required).</summary>
    public OnnxValue In(int i) =>
        Has(i) ? T.Lookup(Node.Input(i), Node.ToString()) : throw Invalid($"input {i} is required but not given");

    /// <summary>Input <paramref name="i"/> as a value of the NNEF graph.</summary>
    public GraphValue Run(int i) => T.Runtime(In(i));

    /// <summary>The known values of input <paramref name="i"/>, or null when it is not a small constant (or absent).</summary>
    public Known? KnownIn(int i) => Has(i) ? Translator.KnownOf(In(i)) : null;

    /// <summary>The known values of input <paramref name="i"/>, which must be a constant (what it is for: <paramref name="what"/>).</summary>
    public Known Const(int i, string what) =>
        KnownIn(i) ?? throw Unsupported($"{what} (input {i}, '{Node.Input(i)}') must be a constant known at export time; freeze the inputs it depends on with --input-value or give --input-shape");

    /// <summary>The known integer values of input <paramref name="i"/> (no symbolic dimension).</summary>
    public long[] ConstLongs(int i, string what)
    {
        Known k = Const(i, what);
        return k.IsConcrete ? k.ToLongs() : throw Unsupported($"{what} ({k}) must not depend on symbolic dimensions; give --input-shape");
    }

    /// <summary>A name hint for output <paramref name="k"/>: the ONNX output name.</summary>
    public string Hint(int k = 0) => k < Node.Outputs.Count && Node.Outputs[k].Length > 0 ? Node.Outputs[k] : Node.OpType.ToLowerInvariant();

    /// <summary>True when output <paramref name="k"/> is requested.</summary>
    public bool WantsOutput(int k) => k < Node.Outputs.Count && Node.Outputs[k].Length > 0;

    /// <summary>Binds output <paramref name="k"/>.</summary>
    public void Out(OnnxValue value, int k = 0)
    {
        if (WantsOutput(k))
        {
            T.Define(Node.Outputs[k], value);
        }
    }

    /// <summary>Binds output <paramref name="k"/> to a value of the NNEF graph.</summary>
    public void Out(GraphValue value, int k = 0) => Out(new RuntimeValue(value), k);

    /// <summary>Binds output <paramref name="k"/> to a folded constant.</summary>
    public void Out(Known value, int k = 0) => Out(new ConstValue(Hint(k), value), k);

    /// <summary>Marks output <paramref name="k"/> as deliberately left unbound (an optional output nothing reads).</summary>
    public void Skip(int k) => _skipped.Add(k);

    public bool Skipped(int k) => _skipped.Contains(k);

    /// <summary>The element type of input <paramref name="i"/>.</summary>
    public DType TypeOf(int i) => In(i).DType;

    /// <summary>The dimensions of a runtime value.</summary>
    public static IReadOnlyList<Dim> ShapeOf(GraphValue v) => v.Shape;

    /// <summary>The dimensions of input <paramref name="i"/>, runtime or constant.</summary>
    public IReadOnlyList<Dim> ShapeOf(int i) => ShapeOfValue(In(i));

    /// <summary>The dimensions of a value, runtime or constant.</summary>
    public IReadOnlyList<Dim> ShapeOfValue(OnnxValue value) => value switch
    {
        RuntimeValue r => r.Value.Shape,
        ConstValue c => [.. c.Shape.Select(d => (Dim)d)],
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Concrete dimensions of input <paramref name="i"/> (what some translations need).</summary>
    public long[] ConcreteShape(int i, string why)
    {
        IReadOnlyList<Dim> shape = ShapeOf(i);
        return shape.All(d => d.IsConstant)
            ? [.. shape.Select(d => { d.TryGetConstant(out long v); return v; })]
            : throw Unsupported($"{why} needs the input's dimensions, which are symbolic ([{string.Join(", ", shape)}]); give --input-shape");
    }

    /// <summary>Axis <paramref name="axis"/> made non-negative for rank <paramref name="rank"/>.</summary>
    public int Axis(long axis, int rank, string what = "axis")
    {
        long a = axis < 0 ? axis + rank : axis;
        return a >= 0 && a < rank ? (int)a : throw Invalid($"{what} {axis} is outside rank {rank}");
    }

    /// <summary>An error about a valid feature this exporter does not translate, naming the node.</summary>
    public UnsupportedFeatureException Unsupported(string what) => new(T.File, null, $"{Node}: {what}");

    /// <summary>An error about a malformed node.</summary>
    public InvalidInputFileException Invalid(string what) => new(T.File, null, $"{Node}: {what}");
}
