using TorchToNnef.Errors;
using TorchToNnef.Ir;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// <c>tract_core_scan</c>: runs its body fragment once per turn, as tract's <c>OptScan</c> does (see
/// <see cref="ScanPlan"/> for the arguments). Scanned inputs are cut into chunks along their axis, full inputs are
/// passed whole, states carry a body result to the next turn; <c>full</c> outputs stack each turn's result along an
/// axis (from the end for a negative chunk), <c>last</c> outputs are the final turn's.
/// </summary>
internal static class Scan
{
    public static void Register(OpRegistry core) => core.Primitive(ScanPlan.Op, Run);

    private static TupleOperand Run(Invocation call)
    {
        EvaluationContext context = call.Context;
        ScanPlan plan = ScanPlan.Parse(call.Node, context.Graph.Fragments);
        Fragment fragment = plan.Fragment(context.Graph.Fragments);
        TensorValue Tensor(Arg a, string what) => call.Input(Coerce.ToTensor(call.Scope.Resolve(a), what));

        var scanned = plan.Scans.Select(s =>
        {
            TensorValue v = Tensor(s.Value, s.Parameter);
            if (v.Data is null)
            {
                throw new UnsupportedFeatureException(null, null, $"scanning the block-quantized input of '{s.Parameter}'");
            }

            int axis = s.Axis < 0 ? s.Axis + v.Rank : s.Axis;
            return axis >= 0 && axis < v.Rank ? (Value: v, Axis: axis) : throw new InvalidGraphException(null, $"scan axis {s.Axis} of '{s.Parameter}' is outside rank {v.Rank}");
        }).ToList();
        List<TensorValue> full = [.. plan.Full.Select(f => Tensor(f.Value, f.Parameter))];
        List<TensorValue> initial = [.. plan.States.Select(s => Tensor(s.Initial, s.Parameter))];
        long turns = ScanPlan.Turns(scanned[0].Value.Shape[scanned[0].Axis], plan.Scans[0].Chunk);
        for (int k = 1; k < scanned.Count; k++)
        {
            long n = ScanPlan.Turns(scanned[k].Value.Shape[scanned[k].Axis], plan.Scans[k].Chunk);
            if (n != turns)
            {
                throw new InvalidGraphException(null, $"scanned input '{plan.Scans[k].Parameter}' gives {n} turns, the first gives {turns}");
            }
        }

        string path = ValuePath.FragmentScope(string.Empty, call.Node, fragment.Name);
        var carried = new Scope(context);
        for (int k = 0; k < plan.States.Count; k++)
        {
            carried[plan.States[k].Parameter] = new TensorOperand(initial[k], false);
        }

        var stacked = new TensorValue?[plan.Outputs.Count];
        var last = new TensorOperand?[plan.Outputs.Count];
        for (long turn = 0; turn < turns; turn++)
        {
            var inner = new Scope(context);
            for (int k = 0; k < plan.Scans.Count; k++)
            {
                inner[plan.Scans[k].Parameter] = new TensorOperand(Chunk(scanned[k].Value, scanned[k].Axis, (int)turn, plan.Scans[k].Chunk), false);
            }

            for (int k = 0; k < full.Count; k++)
            {
                inner[plan.Full[k].Parameter] = new TensorOperand(full[k], false);
            }

            foreach (ScanState s in plan.States)
            {
                inner[s.Parameter] = carried[s.Parameter];
            }

            context.RunBody(fragment.Body!, inner, path);
            for (int k = 0; k < plan.Outputs.Count; k++)
            {
                ScanOutput o = plan.Outputs[k];
                TensorOperand value = Result(inner, fragment, o.Result);
                if (o.Full)
                {
                    stacked[k] = Place(stacked[k], value.Value, o, (int)turn, (int)turns);
                }
                else if (turn == turns - 1)
                {
                    // Handed to the caller: never returned to the pool when the body's scope is cleared.
                    context.Pool.Forget(value);
                    last[k] = value;
                }
            }

            foreach (ScanState s in plan.States)
            {
                TensorOperand next = Result(inner, fragment, s.Result);
                TensorValue before = ((TensorOperand)carried[s.Parameter]).Value;
                if (next.Value.Type != before.Type || !next.Value.Shape.SequenceEqual(before.Shape))
                {
                    throw new InvalidGraphException(null, $"scan state '{s.Parameter}' is {before} but the body returns {next.Value} for it");
                }

                carried[s.Parameter] = new TensorOperand(next.Value, false);
            }

            inner.Clear();
        }

        var results = new List<Operand>(plan.Outputs.Count);
        for (int k = 0; k < plan.Outputs.Count; k++)
        {
            results.Add(plan.Outputs[k].Full
                ? call.Result(stacked[k] ?? throw new InvalidGraphException(null, "a scan with no turn has no full output"))
                : last[k] is TensorOperand l ? new TensorOperand(l.Value, false)
                : plan.States.FirstOrDefault(s => s.Result == plan.Outputs[k].Result) is ScanState s ? new TensorOperand(((TensorOperand)carried[s.Parameter]).Value, false)
                : throw new InvalidGraphException(null, "a scan with no turn has no last output"));
        }

        foreach (Operand r in results)
        {
            context.Pool.Forget(r);
        }

        carried.Clear();
        return new TupleOperand(results);
    }

    private static TensorOperand Result(Scope inner, Fragment fragment, string name) =>
        inner.Contains(name)
            ? Coerce.ToTensor(inner[name], name)
            : throw new InvalidGraphException(null, $"fragment '{fragment.Name}' does not assign its result '{name}'");

    /// <summary>
    /// Turn <paramref name="turn"/>'s chunk of <paramref name="value"/> along <paramref name="axis"/>: elements
    /// <c>[turn·c, turn·c + c)</c> for a chunk <c>c &gt; 0</c>; for <c>c &lt; 0</c> the chunks are counted from the end
    /// (<c>[L - (turn+1)·|c|, L - turn·|c|)</c>), the elements of a chunk keeping their order.
    /// </summary>
    internal static TensorValue Chunk(TensorValue value, int axis, int turn, long chunk)
    {
        int size = checked((int)Math.Abs(chunk));
        int length = value.Shape[axis];
        int start = chunk > 0 ? turn * size : length - ((turn + 1) * size);
        int[] shape = value.Shape.ToArray();
        shape[axis] = size;
        if (size == length)
        {
            return value;
        }

        Array target = NewLike(value, TensorValue.Volume(shape));
        CopyRows(value.Data!, value.ShapeArray, axis, start, target, size, 0, size);
        return TensorValue.Wrap(value.Type, shape, target);
    }

    // Writes one turn's result into the stacked output (allocated on the first turn with the axis times the turns).
    private static TensorValue Place(TensorValue? stacked, TensorValue value, ScanOutput output, int turn, int turns)
    {
        int axis = output.Axis < 0 ? output.Axis + value.Rank : output.Axis;
        if (axis < 0 || axis >= value.Rank)
        {
            throw new InvalidGraphException(null, $"scan output axis {output.Axis} is outside the rank of {value}");
        }

        if (value.Data is null)
        {
            throw new UnsupportedFeatureException(null, null, "stacking block-quantized scan results");
        }

        int size = value.Shape[axis];
        if (stacked is null)
        {
            int[] shape = value.Shape.ToArray();
            shape[axis] = checked(size * turns);
            stacked = TensorValue.Wrap(value.Type, shape, NewLike(value, TensorValue.Volume(shape)));
        }
        else if (stacked.Type != value.Type || stacked.Rank != value.Rank || stacked.Shape[axis] != size * turns)
        {
            throw new InvalidGraphException(null, $"scan result '{output.Result}' changes from turn to turn ({value} after {stacked})");
        }

        if (output.Chunk < 0 && size != 1)
        {
            throw new UnsupportedFeatureException(null, null, $"a backward scan output needs one element per turn on axis {axis}, the body gives {size}");
        }

        int at = output.Chunk > 0 ? turn * size : stacked.Shape[axis] - 1 - turn;
        CopyRows(value.Data, value.ShapeArray, axis, 0, stacked.Data!, stacked.Shape[axis], at, size);
        return stacked;
    }

    /// <summary>
    /// Copies rows <c>[sourceStart, sourceStart + count)</c> of axis <paramref name="axis"/> of a tensor of shape
    /// <paramref name="sourceShape"/> to rows <c>[targetStart, ...)</c> of a tensor whose axis holds
    /// <paramref name="targetAxisLength"/> rows and whose other dimensions are the source's.
    /// </summary>
    internal static void CopyRows(Array source, int[] sourceShape, int axis, int sourceStart, Array target, int targetAxisLength, int targetStart, int count)
    {
        int outer = 1;
        for (int d = 0; d < axis; d++)
        {
            outer *= sourceShape[d];
        }

        int inner = 1;
        for (int d = axis + 1; d < sourceShape.Length; d++)
        {
            inner *= sourceShape[d];
        }

        int sourceAxis = sourceShape[axis];
        if (sourceStart < 0 || sourceStart + count > sourceAxis || targetStart < 0 || targetStart + count > targetAxisLength)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"rows [{sourceStart}, {sourceStart + count}) of {sourceAxis} to [{targetStart}, {targetStart + count}) of {targetAxisLength}");
        }

        int block = count * inner;
        for (int o = 0; o < outer; o++)
        {
            Array.Copy(source, ((o * sourceAxis) + sourceStart) * inner, target, ((o * targetAxisLength) + targetStart) * inner, block);
        }
    }

    private static Array NewLike(TensorValue value, int length) => TensorValue.NewArray(value.Type.Kind, length);
}
