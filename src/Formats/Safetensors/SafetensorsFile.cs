using System.Buffers.Binary;
using System.Text.Unicode;
using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Safetensors;

/// <summary>
/// One <c>.safetensors</c> file, memory-mapped and fully validated when opened: header length, JSON, dtypes, shapes
/// and offsets (see <see cref="SafetensorsHeader"/> for the rules). Tensors are zero-copy views of the mapping;
/// they stay valid while this object is open. Only the header pages are touched on open, so opening a multi-GB
/// checkpoint costs a few kilobytes of memory.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly MappedFile _map;
    private readonly Dictionary<string, SafetensorsEntry> _byName;

    private SafetensorsFile(MappedFile map, long headerLength, SafetensorsHeader.Parsed header)
    {
        _map = map;
        HeaderLength = headerLength;
        Metadata = header.Metadata;
        Entries = header.Entries;
        _byName = new Dictionary<string, SafetensorsEntry>(header.Entries.Length, StringComparer.Ordinal);
        foreach (SafetensorsEntry e in header.Entries)
        {
            _byName.Add(e.Name, e);
        }
    }

    /// <summary>Opens, maps and validates <paramref name="path"/>.</summary>
    /// <exception cref="InvalidInputFileException">The file is not a valid safetensors file (the message says why).</exception>
    /// <exception cref="UnsupportedFeatureException">A tensor uses a dtype or rank this product does not support.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static SafetensorsFile Open(string path)
    {
        MappedFile map = MappedFile.Open(path);
        try
        {
            (long headerLength, SafetensorsHeader.Parsed header) = ReadHeader(map, path);
            return new SafetensorsFile(map, headerLength, header);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>The path given to <see cref="Open"/>.</summary>
    public string Path => _map.Path;

    /// <summary>File size in bytes.</summary>
    public long FileLength => _map.Length;

    /// <summary>Size of the JSON header (including its padding), as stored in the first 8 bytes.</summary>
    public long HeaderLength { get; }

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>All tensors, sorted by <see cref="SafetensorsEntry.DataOffset"/>.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>Looks a tensor up by name.</summary>
    public bool TryGetEntry(string name, out SafetensorsEntry entry) => _byName.TryGetValue(name, out entry!);

    /// <summary>The entry named <paramref name="name"/>.</summary>
    /// <exception cref="InvalidInputFileException">No tensor has that name (the message names the file and tensor).</exception>
    public SafetensorsEntry GetEntry(string name) =>
        _byName.TryGetValue(name, out SafetensorsEntry? entry)
            ? entry
            : throw new InvalidInputFileException(Path, name, "no such tensor in the file");

    /// <summary>
    /// A zero-copy view of tensor <paramref name="name"/>, valid while this file is open. Its
    /// <see cref="TensorData.Read"/> uses positional reads (streaming does not grow the resident set);
    /// <see cref="Tensor.Bytes"/> reads through the mapping. Disposing the view does not close the file.
    /// </summary>
    /// <exception cref="InvalidInputFileException">No tensor has that name.</exception>
    public Tensor GetTensor(string name) => GetTensor(GetEntry(name));

    /// <summary>A zero-copy view of <paramref name="entry"/>, which must come from this file.</summary>
    public Tensor GetTensor(SafetensorsEntry entry)
    {
        if (!_byName.TryGetValue(entry.Name, out SafetensorsEntry? own) || own != entry)
        {
            throw new ArgumentException($"Entry '{entry.Name}' does not belong to {Path}.", nameof(entry));
        }

        return new Tensor(entry.DType, entry.Shape, _map.Slice(entry.DataOffset, entry.ByteLength));
    }

    /// <summary>Tensor <paramref name="name"/> as a lazily read variable source, valid while this file is open.</summary>
    /// <exception cref="InvalidInputFileException">No tensor has that name.</exception>
    public SafetensorsTensorSource GetSource(string name) => new(this, GetEntry(name));

    /// <inheritdoc />
    public void Dispose() => _map.Dispose();

    private static (long, SafetensorsHeader.Parsed) ReadHeader(MappedFile map, string path)
    {
        if (map.Length < sizeof(ulong))
        {
            throw new InvalidInputFileException(path, null,
                $"file is {map.Length} bytes, too short for the 8-byte header length");
        }

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(map.GetSpan(0, sizeof(ulong)));
        long available = map.Length - sizeof(ulong);
        if (n > SafetensorsHeader.MaxHeaderBytes)
        {
            throw new InvalidInputFileException(path, null,
                $"header length {n} exceeds the limit of {SafetensorsHeader.MaxHeaderBytes} bytes");
        }

        if ((long)n > available)
        {
            throw new InvalidInputFileException(path, null,
                $"header length {n} exceeds the {available} bytes after the length field (truncated file?)");
        }

        ReadOnlySpan<byte> json = map.GetSpan(sizeof(ulong), (int)n);
        if (!Utf8.IsValid(json))
        {
            throw new InvalidInputFileException(path, null, "header is not valid UTF-8");
        }

        if (json.IsEmpty || json[0] != (byte)'{')
        {
            throw new InvalidInputFileException(path, null, "header does not start with '{'");
        }

        long dataStart = sizeof(ulong) + (long)n;
        return ((long)n, SafetensorsHeader.Parse(json, dataStart, map.Length - dataStart, path));
    }
}
