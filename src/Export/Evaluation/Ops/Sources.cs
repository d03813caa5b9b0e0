using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// Inputs, constants and type/shape queries: <c>external</c>, <c>tract_core_external</c>, <c>variable</c>,
/// <c>tract_core_shape_of</c>, <c>tract_core_cast</c>, <c>tract_core_range</c>.
/// </summary>
internal static class Sources
{
    public static void Register(OpRegistry nnef, OpRegistry core)
    {
        nnef.Primitive("external", External);
        core.Primitive("tract_core_external", External);
        nnef.Primitive("variable", Variable);
        core.Primitive("tract_core_shape_of", ShapeOf);
        core.Primitive("tract_core_cast", CastOp);
        core.Primitive("tract_core_range", Range);
    }

    private static TensorOperand External(Invocation inv) =>
        inv.Context.Inputs.TryGetValue(inv.Node.Name, out TensorValue? v)
            ? new TensorOperand(v, false)
            : throw new InvalidGraphException(null, "external statement inside a fragment body, or not a declared graph input");

    // variable: the .dat tensor, re-typed bit for bit by a graph.quant entry of the same element size; plain tensors must
    // have the declared shape, Q4_0 ones take the declared shape as their logical shape (the goldens write both equal).
    private static TensorOperand Variable(Invocation inv)
    {
        string label = inv.String("label");
        long[] declared = inv.Longs("shape");
        Graph graph = inv.Context.Graph;
        Variable variable = graph.Variables.TryGetValue(inv.Node.Name, out Variable? byName)
            ? byName
            : graph.Variables.Values.FirstOrDefault(v => v.Label == label || v.Label == label.TrimStart('/'))
              ?? throw new InvalidGraphException(null, $"no data for tensor '{label}'");
        // Opened once per loaded graph and kept (the cache is the evaluator's, across runs), or, when the run releases
        // weights after use, opened by every run that reads it and counted until its last binding goes.
        LiveWeights? live = inv.Context.LiveWeights;
        TensorValue value = live is not null ? Open(variable, label, declared, live.Panels) : inv.Context.Weights.GetOrOpen(variable, declared, () => Open(variable, label, declared, null));
        if (inv.OutputQuant is DatumType q && q != value.Type)
        {
            if (q.SizeOf != value.Type.SizeOf)
            {
                throw new InvalidGraphException(null, $"mismatched tensor type for '{label}': graph.quant says {q}, the data is {value.Type}");
            }

            value = Cast.To(value, q);
        }

        live?.Open(value);
        return Invocation.Constant(value);
    }

    private static TensorValue Open(Variable variable, string label, long[] declared, Q40PanelStore? panels)
    {
        Tensor tensor = variable.Source.Open();
        bool keepOpen = false;
        try
        {
            if (tensor.DType.IsBlockQuantized())
            {
                int[] logical = TensorValue.ToIntShape(declared, label);
                if (TensorValue.Volume(logical) != tensor.ElementCount)
                {
                    throw new InvalidGraphException(null, $"Q4_0 tensor '{label}' holds {tensor.ElementCount} values, the graph declares [{string.Join(", ", declared)}]");
                }

                // A matrix of whole-block rows (every linear and embedding weight). When the run releases weights (a
                // store is given), it stays in its file: a gather reads the rows it needs, a product lays a block of
                // rows at a time, so no weight is ever held whole, however large (a 128k-vocabulary output head is
                // 295 MB of panels). Otherwise it is re-laid as panels straight from the file's bytes, read by offset a
                // window at a time (no mapping of the payload, no copy of it whole), and kept. Other shapes keep the
                // row layout.
                int columns = logical.Length >= 2 ? logical[^1] : 0;
                BlockQuantData data;
                if (columns > 0 && columns % Q40Panels.BlockColumns == 0)
                {
                    keepOpen = panels is not null;
                    data = keepOpen
                        ? BlockQuantData.FromSource(tensor, columns, panels)
                        : new BlockQuantData(Q40Panels.FromRowBlocks(tensor.Data, (int)(tensor.ElementCount / columns), columns));
                }
                else
                {
                    data = new BlockQuantData(tensor.Bytes.ToArray());
                }

                return TensorValue.FromBlockQuant(data, logical);
            }

            if (!tensor.Shape.Dims.SequenceEqual(declared))
            {
                throw new InvalidGraphException(null, $"wrong shape for tensor '{label}': the data file says {tensor.Shape}, the graph says [{string.Join(", ", declared)}]");
            }

            return TensorValue.FromTensor(tensor, label);
        }
        finally
        {
            if (!keepOpen)
            {
                tensor.Dispose();
            }
        }
    }

    private static TensorOperand ShapeOf(Invocation inv)
    {
        TensorValue input = inv.Tensor("input");
        return Invocation.Constant(TensorValue.Create(DatumType.TDim, [input.Rank], input.ShapeArray.Select(d => (long)d).ToArray()));
    }

    // tract_core_cast: `to` may be omitted only when graph.quant gives the output type; with both, they must agree
    // up to quantization and the graph.quant type wins.
    private static TensorOperand CastOp(Invocation inv)
    {
        TensorValue input = inv.Tensor("input");
        DatumType? quant = inv.OutputQuant;
        Operand? to = inv.Find("to");
        DatumType target;
        if (to is not null)
        {
            string name = Coerce.ToStringValue(to, "to");
            DatumType parsed = DatumType.TryParse(name, out DatumType t) ? t : throw new InvalidGraphException(null, $"unknown type '{name}'");
            if (quant is DatumType q && q.Unquantized != parsed.Unquantized)
            {
                throw new InvalidGraphException(null, $"mismatched cast: graph.quant says {q}, the graph says {parsed}");
            }

            target = quant ?? parsed;
        }
        else
        {
            target = quant ?? throw new InvalidGraphException(null, "no datum type for cast (no 'to' and no graph.quant entry)");
        }

        return inv.Result(Cast.To(input, target));
    }

    // tract_core_range: the three operands share one type; TDim operands give an i64 vector of
    // ceil(|end - start| / |step|) values start + i * step.
    private static TensorOperand Range(Invocation inv)
    {
        TensorValue start = inv.Tensor("start");
        TensorValue end = inv.Tensor("end");
        TensorValue step = inv.Tensor("step");
        if (start.Type != end.Type || start.Type != step.Type)
        {
            throw new InvalidGraphException(null, $"range operands must share one type, got {start.Type}, {end.Type}, {step.Type}");
        }

        if (start.ElementCount != 1 || end.ElementCount != 1 || step.ElementCount != 1)
        {
            throw new InvalidGraphException(null, "range operands must be scalars");
        }

        if (start.Type.Kind is DatumKind.TDim or DatumKind.I64 or DatumKind.I32 or DatumKind.I16 or DatumKind.I8)
        {
            long s = Cast.ToLongs(start)[0];
            long e = Cast.ToLongs(end)[0];
            long st = Cast.ToLongs(step)[0];
            if (st == 0)
            {
                throw new InvalidGraphException(null, "range step is 0");
            }

            long len = (Math.Abs(e - s) + Math.Abs(st) - 1) / Math.Abs(st);
            if (start.Type.Kind != DatumKind.TDim && Math.Sign(e - s) != Math.Sign(st))
            {
                len = 0;
            }

            var values = new long[checked((int)len)];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = s + (i * st);
            }

            DatumType outType = start.Type.Kind == DatumKind.TDim ? DatumType.I64 : start.Type;
            return inv.Result(Cast.To(TensorValue.Wrap(DatumType.I64, [values.Length], values), outType));
        }

        double fs = Cast.ToDoubles(start)[0];
        double fe = Cast.ToDoubles(end)[0];
        double fst = Cast.ToDoubles(step)[0];
        int n = (int)Math.Max(0, Math.Ceiling((fe - fs) / fst));
        TensorValue acc = start;
        var items = new List<TensorValue>(n);
        for (int i = 0; i < n; i++)
        {
            items.Add(acc);
            acc = Binary.Evaluate(ArithOp.Add, acc, step);
        }

        return inv.Result(n == 0 ? TensorValue.Zeros(start.Type, [0]) : Coerce.Stack(items, "range"));
    }
}
