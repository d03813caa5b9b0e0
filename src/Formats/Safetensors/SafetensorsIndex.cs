using System.Text.Json;
using TorchToNnef.Errors;
using TorchToNnef.IO;

namespace TorchToNnef.Formats.Safetensors;

/// <summary>
/// The <c>model.safetensors.index.json</c> of a sharded Hugging Face checkpoint: <c>weight_map</c> (tensor name to
/// shard file name) and the optional <c>metadata</c> object. Shard names must be plain file names in the same
/// directory; names from a file never become paths elsewhere.
/// </summary>
public sealed class SafetensorsIndex
{
    /// <summary>The conventional index file name.</summary>
    public const string FileName = "model.safetensors.index.json";

    // An index lists one line per tensor; even a 10k-tensor model stays far below this.
    private const long MaxIndexBytes = 64L << 20;

    private SafetensorsIndex(string path, Dictionary<string, string> weightMap)
    {
        Path = path;
        WeightMap = weightMap;
    }

    /// <summary>The index file.</summary>
    public string Path { get; }

    /// <summary>Tensor name to shard file name (relative to the index's directory).</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary>Reads and validates an index file.</summary>
    /// <exception cref="InvalidInputFileException">Malformed JSON, a missing <c>weight_map</c>, a duplicate tensor or an unsafe shard name.</exception>
    public static SafetensorsIndex Read(string path)
    {
        byte[] bytes = InputFile.ReadAllBytes(path, MaxIndexBytes, "index");
        JsonText.RequireUtf8(bytes, path, "index");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        bool sawWeightMap = false;
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 16 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidInputFileException(path, null, "index is not a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("weight_map"u8))
                {
                    reader.Read();
                    reader.Skip(); // "metadata" (total_size, ...) and anything else carry nothing we need.
                    continue;
                }

                if (sawWeightMap)
                {
                    throw new InvalidInputFileException(path, null, "duplicate key 'weight_map'");
                }

                sawWeightMap = true;
                ReadWeightMap(ref reader, map, path);
            }

            // Only whitespace may follow the root object (checked by hand: the reader stops quietly at a NUL byte).
            if (bytes.AsSpan((int)reader.BytesConsumed).IndexOfAnyExcept(" \t\r\n"u8) >= 0)
            {
                throw new InvalidInputFileException(path, null, "index is not valid JSON: content after the root object");
            }
        }
        catch (JsonException e)
        {
            throw new InvalidInputFileException(path, null, $"index is not valid JSON: {e.Message}", e);
        }

        if (!sawWeightMap)
        {
            throw new InvalidInputFileException(path, null, "index has no 'weight_map'");
        }

        return new SafetensorsIndex(path, map);
    }

    private static void ReadWeightMap(ref Utf8JsonReader reader, Dictionary<string, string> map, string path)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidInputFileException(path, null, $"'weight_map' must be an object, found {reader.TokenType}");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string tensor = reader.GetString()!;
            if (!reader.Read() || reader.TokenType != JsonTokenType.String)
            {
                throw new InvalidInputFileException(path, tensor, $"shard name must be a string, found {reader.TokenType}");
            }

            string shard = reader.GetString()!;
            if (!IsPlainFileName(shard))
            {
                throw new InvalidInputFileException(path, tensor, $"shard name '{shard}' is not a plain file name");
            }

            if (!map.TryAdd(tensor, shard))
            {
                throw new InvalidInputFileException(path, tensor, "tensor listed twice in 'weight_map'");
            }
        }
    }

    private static bool IsPlainFileName(string name) =>
        name.Length > 0 && name is not "." and not ".." && name.IndexOfAny(['/', '\\', '\0', ':']) < 0;
}
