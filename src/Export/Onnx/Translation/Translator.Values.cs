using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Translation;

internal sealed partial class Translator
{
    /// <summary>
    /// <paramref name="value"/> as a value of the NNEF graph: a runtime value as it is; a constant as a variable (created
    /// once and shared by every reader), or, when it holds symbolic dimensions, computed from them.
    /// </summary>
    public GraphValue Runtime(OnnxValue value, string? hint = null)
    {
        switch (value)
        {
            case RuntimeValue r:
                return r.Value;
            case ConstValue c when c.Variable is not null:
                return c.Variable;
            case ConstValue c when c.Source is not null:
                return c.Variable = B.Variable(c.Name, c.Source, hint ?? c.Name);
            case ConstValue c:
                Known k = c.Known!;
                return c.Variable = k.IsConcrete ? B.Variable(c.Name, Source(k), hint ?? c.Name) : SymbolicTensor(k, hint ?? c.Name);
            default:
                throw new InvalidOperationException($"Unknown value {value}.");
        }
    }

    /// <summary>A lazy source over known values (materialized when written or evaluated).</summary>
    public static TensorSource Source(Known k)
    {
        Tensor t = k.ToTensor();
        return TensorSource.FromTensor(t);
    }

    /// <summary>
    /// <paramref name="value"/> as an operand of an element-wise operator whose result has rank <paramref name="rank"/>:
    /// a one-element f32 constant is a float literal (what tract folds best), anything else is aligned to the rank on
    /// the left, as numpy broadcasting does.
    /// </summary>
    public Arg Operand(OnnxValue value, int rank, DType peer, string? hint = null)
    {
        if (value is ConstValue { Count: 1, DType: DType.F32 } c && peer == DType.F32 && c.Rank <= rank && c.Known is Known k)
        {
            return Arg.Float(k.Reals![0]);
        }

        return Aligned(value, rank, hint);
    }

    /// <summary><paramref name="value"/> with leading unit axes up to <paramref name="rank"/>.</summary>
    public GraphValue Aligned(OnnxValue value, int rank, string? hint = null)
    {
        if (value is ConstValue c && c.Rank < rank && c.Source is null)
        {
            // Fold the alignment into the constant itself.
            long[] shape = [.. Enumerable.Repeat(1L, rank - c.Rank), .. c.Shape];
            return Runtime(new ConstValue(c.Name, c.Known!.Reshape(shape)), hint);
        }

        return B.AlignRank(Runtime(value, hint), rank);
    }

    /// <summary>The known values of <paramref name="value"/> when it is a small constant, else null.</summary>
    public static Known? KnownOf(OnnxValue value) => value is ConstValue c ? c.Known : null;

    // A tensor of symbolic dimensions: tract reads an array of dimension expressions as a TDim tensor.
    private GraphValue SymbolicTensor(Known k, string hint)
    {
        if (k.Rank > 1)
        {
            throw new UnsupportedFeatureException(File, hint, $"a symbolic constant of rank {k.Rank} ({k}) cannot be built in the graph");
        }

        Arg items = k.Rank == 0 ? Arg.Dim(k.Ints![0]) : Arg.Dims(k.Ints!);
        DatumType to = Datum(k.DType);
        return B.Apply("tract_core_cast", [items], [new("to", Arg.String(BodyBuilder.TypeName(to)))], hint);
    }
}
