using System.Text;
using System.Text.Json;
using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Safetensors;

/// <summary>
/// Parses and validates the JSON header of a safetensors file with <see cref="Utf8JsonReader"/> (no reflection, no
/// document tree). The rules follow the reference Rust crate (<c>huggingface/safetensors</c>, <c>Metadata::validate</c>):
/// tensors sorted by offsets must tile the data area exactly — each one starts where the previous one ends and the
/// last one ends at the end of the file — so gaps, overlaps and trailing bytes are all rejected.
/// Stricter than the crate on purpose: unknown fields in a tensor entry and duplicate keys are errors (serde would
/// ignore the first and keep the last of the second), and nesting deeper than the format needs is refused while
/// reading, so a deeply nested "JSON bomb" costs nothing.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>Largest header accepted, the reference crate's limit (<c>MAX_HEADER_SIZE</c>).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Key of the free-form string-to-string metadata map.</summary>
    public const string MetadataKey = "__metadata__";

    // Root object, tensor object, shape/offsets array: three levels is all the format has.
    private const int MaxDepth = 3;

    /// <summary>Parsed header: metadata and entries sorted by offset.</summary>
    public sealed record Parsed(Dictionary<string, string> Metadata, SafetensorsEntry[] Entries);

    /// <summary>
    /// Parses <paramref name="json"/> (the header bytes, already known to be valid UTF-8) for a file whose data area
    /// starts at <paramref name="dataStart"/> and holds <paramref name="dataLength"/> bytes.
    /// </summary>
    public static Parsed Parse(ReadOnlySpan<byte> json, long dataStart, long dataLength, string file)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<(SafetensorsEntry Entry, long Begin, long End)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        bool sawMetadata = false;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid(file, null, "header is not a JSON object");
            }

            while (Next(ref reader, file) == JsonTokenType.PropertyName)
            {
                string key = reader.GetString()!;
                if (key == MetadataKey)
                {
                    if (sawMetadata)
                    {
                        throw Invalid(file, null, $"duplicate key '{MetadataKey}'");
                    }

                    sawMetadata = true;
                    ReadMetadata(ref reader, metadata, file);
                    continue;
                }

                if (!names.Add(key))
                {
                    throw Invalid(file, key, "duplicate tensor name");
                }

                entries.Add(ReadTensor(ref reader, key, dataStart, file));
            }

            // The root object is closed; only JSON whitespace (the padding) may follow. Checked by hand because the
            // reader stops quietly at a NUL byte.
            ReadOnlySpan<byte> rest = json[(int)reader.BytesConsumed..];
            int junk = rest.IndexOfAnyExcept(" \t\r\n"u8);
            if (junk >= 0)
            {
                throw Invalid(file, null, $"byte 0x{rest[junk]:X2} at header offset {reader.BytesConsumed + junk} after the header object (only space padding may follow it)");
            }
        }
        catch (JsonException e)
        {
            throw Invalid(file, null, $"header is not valid JSON: {e.Message}", e);
        }

        return new Parsed(metadata, CheckLayout(entries, dataStart, dataLength, file));
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader, string file)
    {
        if (!reader.Read())
        {
            throw Invalid(file, null, "header JSON ends early");
        }

        return reader.TokenType;
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata, string file)
    {
        JsonTokenType start = Next(ref reader, file);
        if (start == JsonTokenType.Null)
        {
            return; // The reference crate reads "__metadata__": null as no metadata.
        }

        if (start != JsonTokenType.StartObject)
        {
            throw Invalid(file, null, $"'{MetadataKey}' must be an object of strings, found {start}");
        }

        while (Next(ref reader, file) == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            if (Next(ref reader, file) != JsonTokenType.String)
            {
                throw Invalid(file, null, $"'{MetadataKey}' value of '{key}' must be a string, found {reader.TokenType}");
            }

            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw Invalid(file, null, $"duplicate '{MetadataKey}' key '{key}'");
            }
        }
    }

    private static (SafetensorsEntry, long, long) ReadTensor(
        ref Utf8JsonReader reader, string name, long dataStart, string file)
    {
        if (Next(ref reader, file) != JsonTokenType.StartObject)
        {
            throw Invalid(file, name, $"entry must be an object, found {reader.TokenType}");
        }

        DType? dtype = null;
        long[]? dims = null;
        (long Begin, long End)? offsets = null;
        while (Next(ref reader, file) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("dtype"u8))
            {
                CheckUnique(dtype.HasValue, "dtype", name, file);
                dtype = ReadDType(ref reader, name, file);
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                CheckUnique(dims is not null, "shape", name, file);
                dims = ReadShape(ref reader, name, file);
            }
            else if (reader.ValueTextEquals("data_offsets"u8))
            {
                CheckUnique(offsets.HasValue, "data_offsets", name, file);
                offsets = ReadOffsets(ref reader, name, file);
            }
            else
            {
                throw Invalid(file, name, $"unexpected field '{reader.GetString()}' (expected dtype, shape, data_offsets)");
            }
        }

        if (dtype is null || dims is null || offsets is null)
        {
            string missing = dtype is null ? "dtype" : dims is null ? "shape" : "data_offsets";
            throw Invalid(file, name, $"missing field '{missing}'");
        }

        if (!Shape.TryCreate(dims, out Shape shape, out string? error))
        {
            throw Invalid(file, name, $"invalid shape [{string.Join(", ", dims)}]: {error}");
        }

        if (!dtype.Value.TryByteSize(shape.ElementCount, out long size))
        {
            throw Invalid(file, name, $"shape {shape} of {SafetensorsDTypes.Name(dtype.Value)} overflows 64-bit byte sizes");
        }

        (long begin, long end) = offsets.Value;
        if (end - begin != size)
        {
            throw Invalid(file, name,
                $"data_offsets [{begin}, {end}] span {end - begin} bytes but {SafetensorsDTypes.Name(dtype.Value)}{shape} needs {size}");
        }

        return (new SafetensorsEntry(name, dtype.Value, shape, dataStart + begin, size), begin, end);
    }

    private static DType ReadDType(ref Utf8JsonReader reader, string name, string file)
    {
        if (Next(ref reader, file) != JsonTokenType.String)
        {
            throw Invalid(file, name, $"dtype must be a string, found {reader.TokenType}");
        }

        string text = reader.GetString()!;
        if (SafetensorsDTypes.TryParse(text, out DType dtype))
        {
            return dtype;
        }

        if (SafetensorsDTypes.IsKnownUnsupported(text))
        {
            throw new UnsupportedFeatureException(file, name, $"dtype {text} is not supported");
        }

        throw Invalid(file, name, $"unknown dtype '{Shorten(text)}'");
    }

    private static long[] ReadShape(ref Utf8JsonReader reader, string name, string file)
    {
        if (Next(ref reader, file) != JsonTokenType.StartArray)
        {
            throw Invalid(file, name, $"shape must be an array, found {reader.TokenType}");
        }

        var dims = new List<long>(4);
        while (Next(ref reader, file) != JsonTokenType.EndArray)
        {
            if (dims.Count == Shape.MaxRank)
            {
                throw new UnsupportedFeatureException(file, name, $"rank above {Shape.MaxRank} is not supported");
            }

            dims.Add(ReadNonNegative(ref reader, "shape dimension", name, file));
        }

        return [.. dims];
    }

    private static (long, long) ReadOffsets(ref Utf8JsonReader reader, string name, string file)
    {
        if (Next(ref reader, file) != JsonTokenType.StartArray)
        {
            throw Invalid(file, name, $"data_offsets must be an array of two integers, found {reader.TokenType}");
        }

        long[] pair = new long[2];
        int count = 0;
        while (Next(ref reader, file) != JsonTokenType.EndArray)
        {
            if (count == 2)
            {
                throw Invalid(file, name, "data_offsets has more than two values");
            }

            pair[count++] = ReadNonNegative(ref reader, "data offset", name, file);
        }

        if (count != 2)
        {
            throw Invalid(file, name, $"data_offsets has {count} values, expected two");
        }

        if (pair[1] < pair[0])
        {
            throw Invalid(file, name, $"data_offsets [{pair[0]}, {pair[1]}] end before they begin");
        }

        return (pair[0], pair[1]);
    }

    private static long ReadNonNegative(ref Utf8JsonReader reader, string what, string name, string file)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            throw Invalid(file, name, $"{what} must be an integer, found {reader.TokenType}");
        }

        string raw = Encoding.UTF8.GetString(reader.ValueSpan);
        if (!reader.TryGetInt64(out long value) || raw.AsSpan().ContainsAny('.', 'e', 'E'))
        {
            throw Invalid(file, name, $"{what} {Shorten(raw)} is not an integer in the 64-bit range");
        }

        if (value < 0)
        {
            throw Invalid(file, name, $"{what} {value} is negative");
        }

        return value;
    }

    private static SafetensorsEntry[] CheckLayout(
        List<(SafetensorsEntry Entry, long Begin, long End)> entries, long dataStart, long dataLength, string file)
    {
        foreach ((SafetensorsEntry entry, long begin, long end) in entries)
        {
            if (end > dataLength)
            {
                throw Invalid(file, entry.Name, $"data_offsets [{begin}, {end}] end past the {dataLength}-byte data area (truncated file?)");
            }
        }

        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        string? previous = null;
        foreach ((SafetensorsEntry entry, long begin, long end) in entries)
        {
            if (begin < expected)
            {
                throw Invalid(file, entry.Name, $"data_offsets [{begin}, {end}] overlap tensor '{previous}' (which ends at {expected})");
            }

            if (begin > expected)
            {
                throw Invalid(file, entry.Name,
                    $"gap of {begin - expected} bytes before data_offsets [{begin}, {end}] (tensors must cover the data area contiguously)");
            }

            expected = end;
            previous = entry.Name;
        }

        if (expected != dataLength)
        {
            throw Invalid(file, null,
                $"{dataLength - expected} bytes after the last tensor (data area is {dataLength} bytes from offset {dataStart}, tensors cover {expected})");
        }

        return entries.ConvertAll(e => e.Entry).ToArray();
    }

    private static void CheckUnique(bool seen, string field, string name, string file)
    {
        if (seen)
        {
            throw Invalid(file, name, $"duplicate field '{field}'");
        }
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "...";

    private static InvalidInputFileException Invalid(string file, string? tensor, string what, Exception? inner = null) =>
        new(file, tensor, what, inner);
}
