namespace TorchToNnef.Quant.Registry;

/// <summary>What consumes a weight in the graph; compression methods select weights by it (as torch_to_nnef selects modules by class).</summary>
public enum WeightKind
{
    /// <summary>Weight of a linear layer / matmul (torch <c>nn.Linear</c>).</summary>
    Linear,

    /// <summary>Table of an embedding gather (torch <c>nn.Embedding</c>).</summary>
    Embedding,

    /// <summary>Kernel of a 1-D convolution (torch <c>nn.Conv1d</c>, OIW).</summary>
    Conv1d,

    /// <summary>Kernel of a 2-D convolution (torch <c>nn.Conv2d</c>, OIHW).</summary>
    Conv2d,
}
