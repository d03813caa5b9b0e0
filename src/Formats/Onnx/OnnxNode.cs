namespace TorchToNnef.Formats.Onnx;

/// <summary>
/// One operator invocation. Inputs and outputs are value names; an empty name is an optional input or output left
/// out. <see cref="Domain"/> is empty for the standard ONNX operator set (also when the file spells it
/// <c>ai.onnx</c>).
/// </summary>
public sealed class OnnxNode
{
    internal OnnxNode(int index, string name, string opType, string domain, string[] inputs, string[] outputs)
    {
        Index = index;
        Name = name;
        OpType = opType;
        Domain = domain;
        Inputs = inputs;
        Outputs = outputs;
        DisplayName = name.Length > 0 ? name : $"#{index}";
    }

    /// <summary>Position of the node in its graph.</summary>
    public int Index { get; }

    /// <summary>The node's name as written in the file (may be empty).</summary>
    public string Name { get; }

    /// <summary>The name, or <c>#index</c> for an unnamed node: what error messages show.</summary>
    public string DisplayName { get; }

    /// <summary>The operator, e.g. <c>Conv</c>.</summary>
    public string OpType { get; }

    /// <summary>The operator set's domain; empty for standard ONNX.</summary>
    public string Domain { get; }

    /// <summary>Input value names (empty string = optional input not given).</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>Output value names (empty string = optional output not requested).</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>The attributes.</summary>
    public OnnxAttributes Attributes { get; internal set; } = null!;

    /// <summary>The operator type qualified with its domain when not standard (<c>com.microsoft.FusedConv</c>).</summary>
    public string QualifiedOpType => Domain.Length == 0 ? OpType : Domain + "." + OpType;

    /// <summary>Input <paramref name="index"/>, or the empty string when the node has fewer inputs.</summary>
    public string Input(int index) => index < Inputs.Count ? Inputs[index] : string.Empty;

    /// <summary>True when optional input <paramref name="index"/> is given.</summary>
    public bool HasInput(int index) => Input(index).Length > 0;

    /// <summary>Formats as <c>node 'conv1' (Conv)</c>, as used in error messages.</summary>
    public override string ToString() => $"node '{DisplayName}' ({QualifiedOpType})";
}
