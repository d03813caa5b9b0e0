using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Translation;

/// <summary>What an ONNX value name stands for during translation: a value computed by the NNEF graph, or a constant.</summary>
internal abstract class OnnxValue
{
    /// <summary>Element type.</summary>
    public abstract DType DType { get; }

    /// <summary>Number of axes.</summary>
    public abstract int Rank { get; }
}

/// <summary>A value of the NNEF graph being built.</summary>
internal sealed class RuntimeValue(GraphValue value) : OnnxValue
{
    public GraphValue Value { get; } = value;

    public override DType DType => Value.DType.Kind == DatumKind.TDim ? DType.I64 : Value.DType.Unquantized.ToStorageDType();

    public override int Rank => Value.Rank;

    public override string ToString() => Value.ToString();
}

/// <summary>
/// A constant: an initializer or <c>Constant</c> node (a lazy, memory-mapped <see cref="TensorSource"/>), or a value
/// folded by the translator (<see cref="Known"/>). Small constants are read for folding on demand; the NNEF variable
/// is created once, on first use by a runtime operator.
/// </summary>
internal sealed class ConstValue : OnnxValue
{
    private Known? _known;
    private bool _knownRead;

    /// <summary>A constant backed by a source (read only when folded, written as a variable otherwise).</summary>
    public ConstValue(string name, TensorSource source)
    {
        Name = name;
        Source = source;
        Shape = source.Shape.Dims.ToArray();
        DType = source.DType;
    }

    /// <summary>A folded constant.</summary>
    public ConstValue(string name, Known known)
    {
        Name = name;
        _known = known;
        _knownRead = true;
        Shape = known.Shape;
        DType = known.DType;
    }

    /// <summary>The ONNX name it was defined under.</summary>
    public string Name { get; }

    /// <summary>The lazy source, when the constant comes from the model file.</summary>
    public TensorSource? Source { get; }

    /// <summary>Dimensions.</summary>
    public long[] Shape { get; }

    public override DType DType { get; }

    public override int Rank => Shape.Length;

    /// <summary>Number of elements.</summary>
    public long Count => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>The NNEF variable holding it, once created.</summary>
    public GraphValue? Variable { get; set; }

    /// <summary>The values when small enough to fold (<see cref="Known.FoldLimit"/>), else null.</summary>
    public Known? Known
    {
        get
        {
            if (!_knownRead)
            {
                _knownRead = true;
                if (Count <= Known.FoldLimit && Source is not null && !Source.DType.IsBlockQuantized())
                {
                    using Tensor t = Source.Open();
                    _known = Known.FromTensor(t);
                }
            }

            return _known;
        }
    }

    /// <summary>The values whatever their size (for weights transformed at export time: folded batch norms, transposes).</summary>
    public Tensor OpenTensor() => Source is not null ? Source.Open() : _known!.ToTensor();

    public override string ToString() => $"{Name}: {DType.Name()}[{string.Join(", ", Shape)}]";
}
