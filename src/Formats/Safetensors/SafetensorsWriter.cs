using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Safetensors;

/// <summary>
/// Writes safetensors files the way the reference crate serializes them, so the same tensors always give the same
/// bytes: tensors ordered by dtype (widest alignment first, in the crate's dtype order) then by name, compact JSON
/// with <c>__metadata__</c> first (its keys sorted), the header padded with spaces to a multiple of 8, then the
/// payloads. Sources are produced and written one at a time, so a model never has to fit in memory.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> atomically (temporary file, then move).</summary>
    /// <exception cref="ArgumentException">Duplicate or reserved names, invalid UTF-16 in a name, or a dtype safetensors cannot hold.</exception>
    public static void Write(
        string path, IEnumerable<(string Name, TensorSource Source)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        (string Name, TensorSource Source)[] ordered = Order(tensors);
        byte[] header = FormatHeader(ordered, metadata);
        AtomicFile.Write(path, stream => WriteOrdered(stream, header, ordered));
    }

    /// <summary>Writes in-memory (or mapped) tensors; the caller keeps ownership of them.</summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, tensors.Select(t => (t.Name, TensorSource.FromTensor(t.Tensor))), metadata);

    /// <summary>Writes to a stream (not atomic; the caller owns the stream).</summary>
    public static void Write(
        Stream destination, IEnumerable<(string Name, TensorSource Source)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        (string Name, TensorSource Source)[] ordered = Order(tensors);
        WriteOrdered(destination, FormatHeader(ordered, metadata), ordered);
    }

    private static void WriteOrdered(Stream destination, byte[] header, (string Name, TensorSource Source)[] ordered)
    {
        destination.Write(header);
        var counter = new CountingStream(destination);
        foreach ((string name, TensorSource source) in ordered)
        {
            long before = counter.Count;
            source.WriteTo(counter);
            if (counter.Count - before != source.ByteLength)
            {
                throw new InvalidOperationException(
                    $"Tensor '{name}' wrote {counter.Count - before} bytes, its header entry says {source.ByteLength}.");
            }
        }
    }

    private static (string Name, TensorSource Source)[] Order(IEnumerable<(string Name, TensorSource Source)> tensors)
    {
        (string Name, TensorSource Source)[] all = tensors.ToArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string name, TensorSource source) in all)
        {
            if (name == SafetensorsHeader.MetadataKey)
            {
                throw new ArgumentException($"'{name}' is reserved for metadata and cannot name a tensor.", nameof(tensors));
            }

            if (!names.Add(name))
            {
                throw new ArgumentException($"Tensor name '{name}' is repeated.", nameof(tensors));
            }

            _ = SafetensorsDTypes.Name(source.DType); // throws for dtypes the format cannot hold
        }

        // The crate sorts by descending dtype (its enum is in increasing alignment order), then by name (byte order),
        // which keeps every payload aligned to its element size.
        return [.. all.OrderByDescending(t => CrateRank(t.Source.DType)).ThenBy(t => t.Name, StringComparer.Ordinal)];
    }

    // Position of each dtype in the crate's Dtype enum (BOOL, U8, I8, F8*, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64).
    private static int CrateRank(DType dtype) => dtype switch
    {
        DType.Bool => 0,
        DType.U8 => 1,
        DType.I8 => 2,
        DType.I16 => 5,
        DType.U16 => 6,
        DType.F16 => 7,
        DType.BF16 => 8,
        DType.I32 => 9,
        DType.U32 => 10,
        DType.F32 => 11,
        DType.F64 => 12,
        DType.I64 => 13,
        DType.U64 => 14,
        _ => throw new ArgumentException($"{dtype.Name()} has no safetensors dtype.", nameof(dtype)),
    };

    private static byte[] FormatHeader((string Name, TensorSource Source)[] ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder("{");
        if (metadata is { Count: > 0 })
        {
            json.Append("\"__metadata__\":{");
            bool first = true;
            foreach (KeyValuePair<string, string> kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                json.Append(first ? string.Empty : ",");
                AppendString(json, kv.Key).Append(':');
                AppendString(json, kv.Value);
                first = false;
            }

            json.Append('}');
        }

        long offset = 0;
        foreach ((string name, TensorSource source) in ordered)
        {
            json.Append(json.Length > 1 ? "," : string.Empty);
            AppendString(json, name).Append(":{\"dtype\":\"").Append(SafetensorsDTypes.Name(source.DType)).Append("\",\"shape\":[");
            json.AppendJoin(',', source.Shape.ToArray().Select(d => d.ToString(CultureInfo.InvariantCulture)));
            long end = checked(offset + source.ByteLength);
            json.Append("],\"data_offsets\":[").Append(offset.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(end.ToString(CultureInfo.InvariantCulture)).Append("]}");
            offset = end;
        }

        json.Append('}');
        byte[] text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetBytes(json.ToString());
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("A tensor name or metadata string is not valid UTF-16.", e);
        }

        int padded = (text.Length + 7) / 8 * 8;
        byte[] header = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        text.CopyTo(header, 8);
        header.AsSpan(8 + text.Length).Fill((byte)' ');
        return header;
    }

    // serde_json's escaping: quote, backslash and control characters; everything else is written as UTF-8.
    private static StringBuilder AppendString(StringBuilder json, string s)
    {
        json.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                case < ' ': json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: json.Append(c); break;
            }
        }

        return json.Append('"');
    }
}
