using Google.Protobuf;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Onnx.Protobuf;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Onnx.Reading;

/// <summary>
/// Loads an <see cref="OnnxModel"/>: maps the file, parses the protobuf structure with tensor payloads skipped,
/// locates the payloads with <see cref="OnnxWireScanner"/>, then validates and converts header, graphs and tensors.
/// </summary>
internal static class OnnxModelReader
{
    // Payloads are skipped (raw_data is not declared in our .proto) and doc strings are not either, so the parsed
    // message holds the graph structure only.
    private static readonly MessageParser<ModelProto> Parser = ModelProto.Parser.WithDiscardUnknownFields(true);

    public static OnnxModel Read(string path)
    {
        MappedFile map = MappedFile.Open(path);
        var external = new ExternalDataFiles(path);
        try
        {
            if (map.Length == 0)
            {
                throw new InvalidInputFileException(path, null, "file is empty");
            }

            if (map.Length > int.MaxValue)
            {
                throw new InvalidInputFileException(path, null,
                    $"file is {map.Length} bytes, over the 2 GiB limit of a protobuf message (larger ONNX models keep their weights in external data files)");
            }

            ReadOnlySpan<byte> bytes = map.GetSpan(0, (int)map.Length);
            ModelProto proto;
            try
            {
                proto = Parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new InvalidInputFileException(path, null, $"not a valid ONNX protobuf ({e.Message})", e);
            }

            ScannedGraph? scanned = OnnxWireScanner.ScanModel(bytes, path);
            OnnxModel.ModelHeader header = ReadHeader(proto, path);
            if (proto.Graph is null || scanned is null)
            {
                throw new InvalidInputFileException(path, null, "the model has no graph");
            }

            var context = new ReadContext(path, map, external);
            OnnxGraph graph = GraphReader.ReadMain(proto.Graph, scanned, context);
            return new OnnxModel(path, map.Length, header, graph, [external, map]);
        }
        catch
        {
            external.Dispose();
            map.Dispose();
            throw;
        }
    }

    private static OnnxModel.ModelHeader ReadHeader(ModelProto proto, string path)
    {
        // IR version 3 introduced opset_import; earlier files cannot say which operator semantics they follow.
        if (!proto.HasIrVersion || proto.IrVersion < 1)
        {
            throw new InvalidInputFileException(path, null, "the model declares no IR version");
        }

        if (proto.IrVersion < 3)
        {
            throw new UnsupportedFeatureException(path, null, $"ONNX IR version {proto.IrVersion} is not supported (3 or later is)");
        }

        var opsets = new List<OnnxOpsetImport>(proto.OpsetImport.Count);
        foreach (OperatorSetIdProto o in proto.OpsetImport)
        {
            string domain = o.Domain == "ai.onnx" ? string.Empty : o.Domain;
            if (opsets.Any(x => x.Domain == domain))
            {
                throw new InvalidInputFileException(path, null, $"operator set '{(domain.Length == 0 ? "ai.onnx" : domain)}' is imported twice");
            }

            if (!o.HasVersion || o.Version < 1)
            {
                throw new InvalidInputFileException(path, null, $"operator set '{(domain.Length == 0 ? "ai.onnx" : domain)}' has no valid version");
            }

            opsets.Add(new OnnxOpsetImport(domain, o.Version));
        }

        OnnxOpsetImport? standard = opsets.Cast<OnnxOpsetImport?>().FirstOrDefault(o => o!.Value.Domain.Length == 0);
        if (standard is null)
        {
            throw new InvalidInputFileException(path, null, "the model imports no version of the standard ONNX operator set (opset_import)");
        }

        long opset = standard.Value.Version;
        if (opset < OnnxModel.MinOpset || opset > OnnxModel.MaxOpset)
        {
            throw new UnsupportedFeatureException(path, null,
                $"ONNX opset {opset} is not supported (opsets {OnnxModel.MinOpset} to {OnnxModel.MaxOpset} are); convert or re-export the model with an opset in that range");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (StringStringEntryProto e in proto.MetadataProps)
        {
            metadata[e.Key] = e.Value;
        }

        string[] functions = proto.Functions.Select(f => f.Domain.Length == 0 ? f.Name : f.Domain + "." + f.Name).ToArray();
        return new OnnxModel.ModelHeader(
            proto.IrVersion, proto.ProducerName, proto.ProducerVersion, proto.Domain, proto.ModelVersion, opsets, metadata, functions);
    }
}

/// <summary>What the graph and tensor readers share: the file, its mapping and the external data files.</summary>
internal sealed record ReadContext(string Path, MappedFile Map, ExternalDataFiles External);
