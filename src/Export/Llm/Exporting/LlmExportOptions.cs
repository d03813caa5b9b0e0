using TorchToNnef.Export.Verification;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm.Exporting;

/// <summary>
/// What <see cref="LlmExporter"/> does, the reference tool's options (<c>llm-export.md</c> §1) under their meaning.
/// </summary>
public sealed record LlmExportOptions
{
    /// <summary>Export folder (<c>-e</c>); it must not exist unless <see cref="ReplaceExisting"/>.</summary>
    public required string ExportDirectory { get; init; }

    /// <summary><c>-dt</c>: f32 or f16; null exports in f32 (what the reference tool loads without <c>-dt</c>).</summary>
    public DType? ForceDType { get; init; }

    /// <summary><c>-f32-attn</c>: attention scores, mask and softmax in f32 in an f16 export.</summary>
    public bool ForceF32Attention { get; init; }

    /// <summary><c>-c</c>: the compression method, or null for float weights.</summary>
    public CompressionMethod? Compression { get; init; }

    /// <summary><c>--tract-specific-version</c>: the target (decides the Q4_0 layout); null for <see cref="TractVersion.Latest"/>.</summary>
    public TractVersion? TractVersion { get; init; }

    /// <summary><c>-dwtac</c>: also copy <c>config.json</c> and the tokenizer files.</summary>
    public bool DumpTokenizerAndConfig { get; init; }

    /// <summary><c>--export-dir-struct</c>.</summary>
    public LlmExportDirStruct DirStruct { get; init; } = LlmExportDirStruct.Deep;

    /// <summary><c>--num-logits-to-keep</c>: logits of the last N positions (0 = all).</summary>
    public int NumLogitsToKeep { get; init; } = 1;

    /// <summary>
    /// <c>-tt</c>: tolerance of the verification; null (no <c>-tt</c>) for <see cref="DefaultTolerance"/> of the
    /// export's float type.
    /// </summary>
    public Approximation? Tolerance { get; init; }

    /// <summary>
    /// Verify the written archive against the reference forward pass and write the <c>tests/*.npz</c> bundles
    /// (default); false (<c>-nv</c>) skips both, since both evaluate the archive.
    /// </summary>
    public bool Verify { get; init; } = true;

    /// <summary><c>-iaed</c>: replace an existing export folder (only one recognisably written by an export).</summary>
    public bool ReplaceExisting { get; init; }

    /// <summary><c>-sgts</c>: tokens of the <c>tests/*.npz</c> modes (at least 2).</summary>
    public int SampleGenerationTotalSize { get; init; } = 6;

    /// <summary>The command line recorded in the <c>export_cmd</c> property.</summary>
    public string ExportCommand { get; init; } = "t2n export-llm";

    /// <summary>Record <c>os</c>, <c>hostname</c> and <c>user</c> in the properties, as the reference tool does (default true).</summary>
    public bool IdentityProperties { get; init; } = true;

    /// <summary>Flush the archive to the storage device before it is moved into place (default false, as the reference tool).</summary>
    public bool FlushToDisk { get; init; }

    /// <summary>Threads of the quantizer, the archive writer, the evaluator and the reference pass; 0 for all cores.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Keep Q4_0 blocks whose f16 scale is NaN or infinite instead of failing, naming the weight
    /// (<see cref="Quant.Q40QuantizeOptions.AllowNonFinite"/>).
    /// </summary>
    public bool AllowNonFinite { get; init; }

    /// <summary>Receives progress lines and warnings (weights left float, skipped steps).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Test hook: edits the graph after it is built and before it is written (e.g. to break it on purpose).</summary>
    internal Action<Graph>? EditGraph { get; init; }

    /// <summary>
    /// Measurement hook: called by the verification after each of its phases (<c>open</c>, then per mode
    /// <c>&lt;mode&gt; reference</c> and <c>&lt;mode&gt; evaluator</c>), on the verifying thread, so a caller can read
    /// the memory each phase needed (bench <c>llm-verify-memory</c>, the verification memory tests).
    /// </summary>
    internal Action<string>? VerificationPhaseDone { get; init; }

    /// <summary>
    /// The verification's tolerance when <c>-tt</c> is not given: <c>approximate</c> for f32 exports, <c>very</c> for
    /// f16 exports. tract's f16 <c>approximate</c> (1e-3 + 5e-3·|x|) bounds the rounding of one f16 operation; the
    /// graph and the reference pass each round every matmul, norm and residual add to f16 (unit roundoff 2^-11), in
    /// different orders, and these differences add up over the layers: about 1e-2 on the logits of a 22-layer 1.1B
    /// model (<c>bench/llm-export.sh</c>), already past <c>approximate</c> on the 2-layer golden qwen3's key caches.
    /// <c>very</c> (5e-2 + 1e-2·|x|, no outliers) leaves a factor of 5 for deeper models and still fails a broken
    /// graph, whose errors are of the order of the values themselves (<c>LlmExporterTests</c>).
    /// </summary>
    /// <param name="weights">The export's float type.</param>
    public static Approximation DefaultTolerance(DType weights) =>
        weights == DType.F16 ? Approximation.VeryApproximate : Approximation.Approximate;
}
