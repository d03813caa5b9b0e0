using TorchToNnef.Ir;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant;

/// <summary>
/// Q4_0 compression as a <see cref="TensorSource"/> over any float source (a checkpoint tensor, an archive's
/// <c>.dat</c>, a converted or computed tensor): what a graph variable holds so that a model is quantized one tensor
/// at a time as it is written, never as a whole.
/// <list type="bullet">
/// <item><see cref="WriteTo"/> (what the NNEF writers call, once per written archive) quantizes while it streams: the
/// float source is opened (a view for file-backed sources), quantized a window at a time and the blocks written as
/// they come, so memory stays at a window whatever the tensor size.</item>
/// <item><see cref="Open"/> (what an evaluator calls) quantizes into memory once; while any tensor it returned, or a
/// view of it, is still reachable, later <see cref="Open"/> and <see cref="WriteTo"/> calls reuse those blocks instead
/// of quantizing again. Nothing else keeps them: once the consumers let go, the garbage collector reclaims them, so
/// a graph of such sources never holds a whole quantized model.</item>
/// </list>
/// Results are identical whichever path computes them and whatever the thread count. The float source must stay
/// usable (its file open) while this source is.
/// </summary>
public sealed class Q40TensorSource : TensorSource
{
    private readonly Lock _gate = new();
    private WeakReference<byte[]>? _blocks;

    /// <summary>Quantizes <paramref name="floats"/> with <paramref name="calibration"/> (min-max when null).</summary>
    /// <param name="floats">An f32, f16 or bf16 source of rank 2 to 4 whose rows are a multiple of 32 values.</param>
    /// <param name="name">The tensor's name, for error messages.</param>
    /// <param name="calibration">How each group's scale is chosen.</param>
    /// <param name="options">Threads within the tensor, progress and error measurement (added to on every quantization).</param>
    /// <exception cref="Errors.ImpossibleQuantizationException">The source is not eligible; the message names it.</exception>
    public Q40TensorSource(TensorSource floats, string? name = null, Q40Calibration? calibration = null, Q40QuantizeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(floats);
        Q40Format.ThrowIfIneligible(floats.DType, floats.Shape, name);
        Floats = floats;
        Name = name;
        Calibration = calibration ?? Q40Calibration.MinMax;
        Options = options ?? Q40QuantizeOptions.Default;
    }

    /// <summary>The float source that is quantized.</summary>
    public TensorSource Floats { get; }

    /// <summary>The tensor's name in messages.</summary>
    public string? Name { get; }

    /// <summary>How groups are quantized.</summary>
    public Q40Calibration Calibration { get; }

    /// <summary>Threads, progress and error measurement of each quantization.</summary>
    public Q40QuantizeOptions Options { get; }

    /// <inheritdoc />
    public override DType DType => DType.Q40;

    /// <inheritdoc />
    public override Shape Shape => Floats.Shape;

    /// <summary>
    /// The quantized tensor, in memory (read-only). Quantized on the first call; later calls share the same blocks
    /// while any earlier result is still reachable.
    /// </summary>
    public override Tensor Open()
    {
        lock (_gate)
        {
            if (_blocks is null || !_blocks.TryGetTarget(out byte[]? blocks))
            {
                blocks = GC.AllocateUninitializedArray<byte>(checked((int)ByteLength));
                using (Tensor floats = Floats.Open())
                {
                    Q40Quantizer.Pipeline(floats, Calibration, Options, Name).RunInto(blocks);
                }

                _blocks = new WeakReference<byte[]>(blocks);
            }

            return new Tensor(DType.Q40, Shape, new SharedBlocks(blocks));
        }
    }

    /// <summary>Streams the blocks: the ones an earlier <see cref="Open"/> made when still reachable, else quantized a window at a time.</summary>
    public override void WriteTo(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        byte[]? blocks = null;
        lock (_gate)
        {
            _blocks?.TryGetTarget(out blocks);
        }

        if (blocks is not null)
        {
            destination.Write(blocks);
            return;
        }

        using Tensor floats = Floats.Open();
        Q40Quantizer.Pipeline(floats, Calibration, Options, Name).RunTo(destination);
    }

    /// <inheritdoc />
    public override string ToString() => $"q40({Name ?? Floats.ToString()})";

    /// <summary>Read-only view of quantized blocks that others may share; the array stays alive as long as a view does.</summary>
    private sealed class SharedBlocks(byte[] blocks) : TensorData
    {
        public override long ByteLength => blocks.Length;

        public override bool IsInMemory => true;

        public override void Read(long offset, Span<byte> destination)
        {
            CheckRange(offset, destination.Length);
            blocks.AsSpan((int)offset, destination.Length).CopyTo(destination);
        }

        public override bool TryGetSpan(out ReadOnlySpan<byte> bytes)
        {
            bytes = blocks;
            return true;
        }
    }
}
