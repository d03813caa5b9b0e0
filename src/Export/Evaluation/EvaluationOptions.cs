namespace TorchToNnef.Export.Evaluation;

/// <summary>Knobs of a graph evaluation.</summary>
public sealed record EvaluationOptions
{
    /// <summary>
    /// Accept f32 values for f16 inputs and cast them (tract's <c>--allow-float-casts</c>; the check-io bundles store
    /// f16 tensors as f32). Default true.
    /// </summary>
    public bool AllowFloatCasts { get; init; } = true;

    /// <summary>
    /// A <c>tract_assert</c> scenario (e.g. <c>tg</c>) whose assertions must also hold; null checks only the
    /// unconditional assertions, as a plain tract run does.
    /// </summary>
    public string? Scenario { get; init; }

    /// <summary>Maximum nesting of fragment invocations before the graph is rejected as recursive.</summary>
    public int MaxFragmentDepth { get; init; } = 64;

    /// <summary>Worker threads for matrix products, convolutions and large element-wise operations; 0 uses every core.</summary>
    public int MaxDegreeOfParallelism { get; init; }

    /// <summary>
    /// Called with every value the run computes, in the graph body and inside fragment invocations, keyed by its
    /// <see cref="ValuePath"/> (the keys <see cref="ShapeInference"/> uses), so a caller can compare each value with its
    /// static type or trace a run. Null (the default) costs nothing.
    /// </summary>
    public Action<string, TensorValue>? ValueComputed { get; init; }

    /// <summary>
    /// Receives, on the evaluating thread, one report after each statement of the graph body (a progress display for a
    /// long run). Null (the default) costs nothing.
    /// </summary>
    public IProgress<EvaluationProgress>? Progress { get; init; }

    /// <summary>
    /// Let the next run reuse the storage of this run's outputs. The tensors <see cref="GraphEvaluator.Run"/> returns then
    /// stay valid only until the next run of the same evaluator starts: read (or copy) them before. For callers that run
    /// a graph many times and consume each result at once (a benchmark, a decode loop), it saves a fresh output array
    /// per run, with its page faults and the collections it triggers. Default false: outputs belong to the caller.
    /// </summary>
    public bool ReuseOutputStorage { get; init; }

    /// <summary>
    /// Called after every primitive operator call with the statement's <see cref="ValuePath"/>, the operator name and the
    /// time the call took, so a caller can see where a run spends its time. Fragment bodies report their own
    /// primitives, so the times add up without double counting. Statements of the graph body that read only weights and
    /// literals are computed by an evaluator's first run and kept: later runs do not call them, so do not report them
    /// (unless <see cref="ReleaseWeightsAfterUse"/> is set: then every run computes and reports them).
    /// Null (the default) costs one test per statement.
    /// </summary>
    public Action<string, string, TimeSpan>? OperatorTimed { get; init; }

    /// <summary>
    /// Hold no weight longer than a run needs it: each <c>variable</c> is opened (read from its source, Q4_0 blocks
    /// re-laid as panels) when its statement runs and dropped after its last consumer, and statements computed from
    /// weights and literals alone are computed by every run instead of being kept. An evaluator then keeps no weight
    /// between runs, and a run holds only the weights alive at once (those of the statements between a weight's
    /// reading and its last use: about one layer's in a decoder graph), whatever the model's size — at the cost of
    /// reading and re-laying every weight on every run. For a caller that runs a large graph a few times on a host with
    /// less memory than the model (the LLM exporter's check-io). Default false: weights are opened once, by the first run
    /// that reads them, and kept for later runs.
    /// </summary>
    public bool ReleaseWeightsAfterUse { get; init; }

    /// <summary>
    /// Under <see cref="ReleaseWeightsAfterUse"/>: bytes of Q4_0 panels a product lays at once when it reads a weight from
    /// its file a block of rows at a time (whole panels of 16 rows, at least one). Tests set it small to make a small matrix take
    /// several blocks.
    /// </summary>
    internal long StreamedWeightBlockBytes { get; init; } = Kernels.Contraction.StreamBlockBytes;

    /// <summary>Stops the evaluation between statements with an <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken Cancellation { get; init; }
}
