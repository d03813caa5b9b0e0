using TorchToNnef.Tensors;

namespace TorchToNnef.Ir;

/// <summary>
/// A constant tensor of the graph (NNEF <c>variable</c>): its label (the <c>.dat</c> file name without extension)
/// and a lazy source of its data. A graph keys its variables by the identifier of the value they define.
/// </summary>
public sealed class Variable
{
    /// <summary>Creates a variable.</summary>
    public Variable(string label, TensorSource source)
    {
        Label = label;
        Source = source;
    }

    /// <summary>Label: the data file's name without <c>.dat</c>. Writers sanitize it before using it as a path.</summary>
    public string Label { get; set; }

    /// <summary>Where the data comes from.</summary>
    public TensorSource Source { get; set; }

    /// <summary>Data type of the stored tensor.</summary>
    public DType DType => Source.DType;

    /// <summary>Logical shape of the stored tensor.</summary>
    public Shape Shape => Source.Shape;
}
