using System.Text.Json;
using TorchToNnef.IO;

namespace TorchToNnef.Formats.Nnef;

/// <summary>
/// The index <c>t2n quantize</c> writes next to its <c>.dat</c> files when a file name is not simply the tensor name
/// plus <c>.dat</c> (a name with <c>/</c>, a control character, a clash ignoring case, a very long name): a small
/// JSON object naming the source and mapping every tensor name to its file name.
/// <code>{ "format": "t2n.tensor-files/1", "source": "model.safetensors", "files": { "model/layer.weight": "model_layer.weight.dat", ... } }</code>
/// </summary>
public static class TensorFileIndex
{
    /// <summary>File name of the index in the output folder.</summary>
    public const string FileName = "tensor-files.json";

    /// <summary>Value of the <c>format</c> field, which recognises the file as ours.</summary>
    public const string Format = "t2n.tensor-files/1";

    private const long MaxRecognisedBytes = 256L << 20;

    /// <summary>The output kind: overwrite replaces only an index (a JSON object with this <c>format</c>).</summary>
    public static OutputKind OutputKind { get; } = OutputKind.File("a t2n tensor-file index", WhyNotAnIndex);

    /// <summary>Writes the index (indented JSON, tensors in the given order).</summary>
    public static void Write(Stream destination, string source, IEnumerable<KeyValuePair<string, string>> files)
    {
        using var json = new Utf8JsonWriter(destination, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("format", Format);
        json.WriteString("source", source);
        json.WriteStartObject("files");
        foreach ((string tensor, string file) in files)
        {
            json.WriteString(tensor, file);
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Reads an index: tensor name to file name.</summary>
    /// <exception cref="Errors.InvalidInputFileException">Not an index of this format.</exception>
    public static Dictionary<string, string> Read(string path)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(InputFile.ReadAllBytes(path, MaxRecognisedBytes, "index"));
            if (!IsIndex(doc.RootElement) || doc.RootElement.GetProperty("files") is not { ValueKind: JsonValueKind.Object } files)
            {
                throw new Errors.InvalidInputFileException(path, null, $"not a {Format} index");
            }

            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty p in files.EnumerateObject())
            {
                map[p.Name] = p.Value.GetString() ?? throw new Errors.InvalidInputFileException(path, p.Name, "file name is not a string");
            }

            return map;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new Errors.InvalidInputFileException(path, null, $"not a {Format} index: {e.Message}", e);
        }
    }

    private static bool IsIndex(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
        && root.TryGetProperty("format", out JsonElement f) && f.ValueKind == JsonValueKind.String && f.GetString() == Format;

    private static string? WhyNotAnIndex(string path)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(InputFile.ReadAllBytes(path, MaxRecognisedBytes, "index"));
            return IsIndex(doc.RootElement) ? null : $"it has no \"format\": \"{Format}\"";
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not valid UTF-8 (System.Text.Json checks strings lazily).
            return "it is not JSON";
        }
        catch (Errors.InvalidInputFileException e)
        {
            return e.Message; // larger than any index, or not a regular file
        }
    }
}
