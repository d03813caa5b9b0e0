using TorchToNnef.Errors;
using TorchToNnef.Formats.Onnx.Reading;

namespace TorchToNnef.Formats.Onnx;

/// <summary>An operator set a model imports: a domain (empty = standard ONNX) and its version.</summary>
/// <param name="Domain">The domain; empty for the standard operator set.</param>
/// <param name="Version">The operator set version.</param>
public readonly record struct OnnxOpsetImport(string Domain, long Version);

/// <summary>
/// An ONNX model loaded for translation: its main graph with inputs, outputs, declared shapes (named dimensions
/// kept as symbols), initializers as lazily read <see cref="OnnxTensor"/>s and nodes with typed attributes.
/// </summary>
/// <remarks>
/// <para>Loading parses the protobuf structure only. Tensor payloads stay in the file: inline <c>raw_data</c> is viewed
/// in place through a read-only memory mapping, external data files (models over 2 GB) are mapped as well, and only
/// tensors stored in typed fields (<c>float_data</c>, <c>int64_data</c>, ...) are decoded into memory. Every tensor's
/// dtype, dims and byte size are checked against the bytes the file holds before anything is allocated, and external
/// data paths must stay inside the model's folder.</para>
/// <para>The model owns the mappings: tensors opened from it are valid until it is disposed.</para>
/// </remarks>
public sealed class OnnxModel : IDisposable
{
    /// <summary>
    /// Lowest version of the standard operator set accepted. Opsets 9 and 10 are in because real models still use them
    /// (PaddleOCR's direction classifier and recognizer are opset 9); the translator reads each operator's attributes
    /// in the form its opset defines (for example <c>Slice</c>, <c>Pad</c> and <c>Clip</c> bounds as attributes before
    /// opsets 10 and 11).
    /// </summary>
    public const int MinOpset = 9;

    /// <summary>Highest version of the standard operator set accepted.</summary>
    public const int MaxOpset = 21;

    private readonly IDisposable[] _resources;

    internal OnnxModel(
        string path,
        long fileLength,
        ModelHeader header,
        OnnxGraph graph,
        IDisposable[] resources)
    {
        Path = path;
        FileLength = fileLength;
        IrVersion = header.IrVersion;
        ProducerName = header.ProducerName;
        ProducerVersion = header.ProducerVersion;
        Domain = header.Domain;
        ModelVersion = header.ModelVersion;
        OpsetImports = header.OpsetImports;
        Metadata = header.Metadata;
        LocalFunctions = header.LocalFunctions;
        Graph = graph;
        _resources = resources;
    }

    /// <summary>
    /// Loads and validates the model at <paramref name="path"/>: protobuf structure, IR and opset versions, graph
    /// scoping (every node input defined before use), tensor types, sizes and data locations.
    /// </summary>
    /// <exception cref="InvalidInputFileException">The file is malformed, truncated or inconsistent (the message names the
    /// file and the node or tensor).</exception>
    /// <exception cref="UnsupportedFeatureException">Valid ONNX this loader does not handle: an opset outside
    /// <see cref="MinOpset"/> to <see cref="MaxOpset"/>, sparse tensors, string or 8-bit float tensors, ...</exception>
    /// <exception cref="IOException">The file (or an external data file) cannot be read.</exception>
    public static OnnxModel Load(string path) => OnnxModelReader.Read(path);

    /// <summary>The path given to <see cref="Load"/>.</summary>
    public string Path { get; }

    /// <summary>Size of the model file in bytes (external data not included).</summary>
    public long FileLength { get; }

    /// <summary>The ONNX IR version the file declares.</summary>
    public long IrVersion { get; }

    /// <summary>The tool that wrote the model (e.g. <c>pytorch</c>), possibly empty.</summary>
    public string ProducerName { get; }

    /// <summary>The version of that tool, possibly empty.</summary>
    public string ProducerVersion { get; }

    /// <summary>The model's domain, possibly empty.</summary>
    public string Domain { get; }

    /// <summary>The model's own version number.</summary>
    public long ModelVersion { get; }

    /// <summary>The operator sets imported, in file order.</summary>
    public IReadOnlyList<OnnxOpsetImport> OpsetImports { get; }

    /// <summary>The version of the standard ONNX operator set the nodes follow.</summary>
    public int Opset => (int)OpsetImports.First(o => o.Domain.Length == 0).Version;

    /// <summary><c>metadata_props</c> as a dictionary (later duplicates win).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Names of model-local functions (<c>domain.name</c>); nodes calling them are not translated.</summary>
    public IReadOnlyList<string> LocalFunctions { get; }

    /// <summary>The main graph.</summary>
    public OnnxGraph Graph { get; }

    /// <summary>The version of operator set <paramref name="domain"/> (empty = standard), or null when not imported.</summary>
    public long? OpsetOf(string domain)
    {
        string normalized = domain == "ai.onnx" ? string.Empty : domain;
        foreach (OnnxOpsetImport o in OpsetImports)
        {
            if (o.Domain == normalized)
            {
                return o.Version;
            }
        }

        return null;
    }

    /// <summary>Releases the memory mappings of the model file and of external data files.</summary>
    public void Dispose()
    {
        foreach (IDisposable r in _resources)
        {
            r.Dispose();
        }
    }

    /// <summary>Header fields gathered by the reader.</summary>
    internal sealed record ModelHeader(
        long IrVersion,
        string ProducerName,
        string ProducerVersion,
        string Domain,
        long ModelVersion,
        IReadOnlyList<OnnxOpsetImport> OpsetImports,
        IReadOnlyDictionary<string, string> Metadata,
        IReadOnlyList<string> LocalFunctions);
}
