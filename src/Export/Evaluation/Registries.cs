using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Ops;

namespace TorchToNnef.Export.Evaluation;

/// <summary>The evaluator's implementations of the catalog's built-ins, per registry, filled once from the <c>Ops/*</c> files.</summary>
internal static class Registries
{
    /// <summary><c>tract_nnef</c>: the NNEF standard operators; always active.</summary>
    public static readonly OpRegistry Nnef;

    /// <summary><c>tract_core</c>: <c>tract_core_*</c> extensions, active with <c>extension tract_registry tract_core;</c>.</summary>
    public static readonly OpRegistry Core;

    /// <summary><c>tract_transformers</c>: fused transformer ops, active with <c>extension tract_registry tract_transformers;</c>.</summary>
    public static readonly OpRegistry Transformers;

#pragma warning disable CA1810 // explicit static constructor: the tables are filled together by the op files
    static Registries()
#pragma warning restore CA1810
    {
        Nnef = new OpRegistry(OperatorCatalog.NnefRegistry);
        Core = new OpRegistry(OperatorCatalog.CoreRegistry);
        Transformers = new OpRegistry(OperatorCatalog.TransformersRegistry);
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
        GatherElements.Register(Core);
        Fused.Register(Core, Transformers);
        Scan.Register(Core);
        Nnef.CheckComplete();
        Core.CheckComplete();
        Transformers.CheckComplete();
    }

    /// <summary>The implementation of a built-in schema.</summary>
    public static OpImpl ImplementationOf(OperatorSchema schema)
    {
        OpRegistry registry = schema.Registry switch
        {
            OperatorCatalog.CoreRegistry => Core,
            OperatorCatalog.TransformersRegistry => Transformers,
            _ => Nnef,
        };
        return registry.TryGet(schema.Name, out OpImpl impl)
            ? impl
            : throw new UnsupportedFeatureException(null, null, $"operator '{schema.Name}' has no implementation in the evaluator");
    }
}
