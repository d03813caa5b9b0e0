using TorchToNnef.Export.Evaluation.Ops;

namespace TorchToNnef.Export.Evaluation;

/// <summary>The two operator registries the evaluator knows, filled once from the <c>Ops/*</c> files.</summary>
internal static class Registries
{
    /// <summary><c>tract_nnef</c>: the NNEF standard operators and stdlib fragments; always active.</summary>
    public static readonly OpRegistry Nnef;

    /// <summary><c>tract_core</c>: <c>tract_core_*</c> extensions, active with <c>extension tract_registry tract_core;</c>.</summary>
    public static readonly OpRegistry Core;

    /// <summary><c>tract_transformers</c>: fused transformer ops, active with <c>extension tract_registry tract_transformers;</c>.</summary>
    public static readonly OpRegistry Transformers;

    /// <summary>The registries a graph activates with extension lines, in tract's framework order.</summary>
    public static IReadOnlyList<OpRegistry> Extensions => [Core, Transformers];

#pragma warning disable CA1810 // explicit static constructor: both tables are filled together by the op files
    static Registries()
#pragma warning restore CA1810
    {
        Nnef = new OpRegistry("tract_nnef");
        Core = new OpRegistry("tract_core");
        Transformers = new OpRegistry("tract_transformers");
        Sources.Register(Nnef, Core);
        Shapes.Register(Nnef, Core);
        Binary.Register(Nnef);
        Unary.Register(Nnef, Core);
        Logic.Register(Nnef, Core);
        MatMul.Register(Nnef, Core);
        Conv.Register(Nnef);
        Pool.Register(Nnef);
        Reduce.Register(Nnef, Core);
        Softmax.Register(Nnef, Core);
        Gather.Register(Core);
        Stdlib.Register(Nnef);
        Fused.Register(Core, Transformers);
    }
}
