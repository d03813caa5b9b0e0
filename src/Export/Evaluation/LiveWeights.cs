using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// The weights one run holds under <see cref="EvaluationOptions.ReleaseWeightsAfterUse"/>: each weight the run opens is
/// counted by the bindings of its storage (its array, or its Q4_0 blocks), the same references by which
/// <see cref="TensorPool"/> counts intermediate values — views of a weight bind the same storage — and is released
/// (no longer referenced by the run) when the last one goes. It makes the run's weight footprint observable: how
/// many weights were alive at once, and how many were opened and released. With a <see cref="Q40PanelStore"/>, a
/// released Q4_0 weight's panels go back to it, for the next weight of the same size to be laid in.
/// </summary>
/// <param name="panels">Where released panels go and new ones come from; null when a released weight may still be
/// read (a <see cref="EvaluationOptions.ValueComputed"/> observer may keep any value).</param>
internal sealed class LiveWeights(Q40PanelStore? panels)
{
    private readonly Dictionary<object, int> _bindings = new(ReferenceEqualityComparer.Instance);

    /// <summary>The store panels of this run's weights come from, or null.</summary>
    public Q40PanelStore? Panels => panels;

    /// <summary>Weights opened by the run and still bound.</summary>
    public int Live => _bindings.Count;

    /// <summary>Most weights alive at once so far in the run.</summary>
    public int Peak { get; private set; }

    /// <summary>Weights the run opened.</summary>
    public int Opened { get; private set; }

    /// <summary>Weights the run released after their last binding went.</summary>
    public int Released { get; private set; }

    /// <summary>A weight was opened (its value is about to be bound by its statement).</summary>
    public void Open(TensorValue value)
    {
        if (StorageOf(value) is object storage && _bindings.TryAdd(storage, 0))
        {
            Opened++;
            Peak = Math.Max(Peak, _bindings.Count);
        }
    }

    /// <summary>A value was bound to a name: a weight's storage gains a reference.</summary>
    public void Bind(Operand? operand)
    {
        if (StorageOf(operand) is object storage && _bindings.TryGetValue(storage, out int n))
        {
            _bindings[storage] = n + 1;
        }
    }

    /// <summary>A binding went away: at zero references the weight is released.</summary>
    public void Unbind(Operand? operand)
    {
        if (StorageOf(operand) is not object storage || !_bindings.TryGetValue(storage, out int n))
        {
            return;
        }

        if (n > 1)
        {
            _bindings[storage] = n - 1;
            return;
        }

        _bindings.Remove(storage);
        Released++;
        if (panels is not null && storage is BlockQuantData blocks && blocks.ReleasePanels() is Q40Panels released)
        {
            panels.Return(released);
        }
    }

    private static object? StorageOf(Operand? operand) => operand is TensorOperand t ? StorageOf(t.Value) : null;

    // Empty arrays may be one shared instance: nothing to hold, nothing to count.
    private static object? StorageOf(TensorValue value) =>
        value.BlockQuant is BlockQuantData blocks ? blocks : value.Data is Array { Length: > 0 } data ? data : null;
}
