using System.IO.Compression;
using TorchToNnef.Errors;
using TorchToNnef.IO;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Numpy;

/// <summary>
/// A <c>.npz</c> archive: a zip of <c>name.npy</c> entries, stored or deflated, read and written with
/// System.IO.Compression only. Entries keep their stored order. Open one to read arrays one at a time; use
/// <see cref="Read(string)"/> to load them all.
/// </summary>
public sealed class NpzArchive : IDisposable
{
    private const string Suffix = ".npy";

    // Fixed timestamp (the zip epoch, as numpy's own writer effectively produces via zipfile defaults) so the
    // same arrays always give the same bytes.
    private static readonly DateTimeOffset ZipEpoch = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly ZipArchive _zip;
    private readonly long _fileLength;
    private readonly Dictionary<string, ZipArchiveEntry> _entries;

    private NpzArchive(string path, ZipArchive zip, long fileLength, List<string> names, Dictionary<string, ZipArchiveEntry> entries)
    {
        Path = path;
        _zip = zip;
        _fileLength = fileLength;
        Names = names;
        _entries = entries;
    }

    /// <summary>The archive path.</summary>
    public string Path { get; }

    /// <summary>Array names (entry names without <c>.npy</c>) in stored order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Opens an archive and lists its arrays.</summary>
    /// <exception cref="InvalidInputFileException">Not a zip, an entry not named <c>*.npy</c>, or a duplicate name.</exception>
    public static NpzArchive Open(string path)
    {
        FileStream stream = InputFile.OpenRead(path);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (InvalidDataException e)
        {
            stream.Dispose();
            throw new InvalidInputFileException(path, null, $"not a valid zip archive: {e.Message}", e);
        }

        try
        {
            var names = new List<string>();
            var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                if (!entry.FullName.EndsWith(Suffix, StringComparison.Ordinal))
                {
                    throw new InvalidInputFileException(path, null, $"entry '{entry.FullName}' is not a .npy array");
                }

                string name = entry.FullName[..^Suffix.Length];
                if (!entries.TryAdd(name, entry))
                {
                    throw new InvalidInputFileException(path, name, "array stored twice");
                }

                names.Add(name);
            }

            return new NpzArchive(path, zip, stream.Length, names, entries);
        }
        catch (InvalidDataException e)
        {
            // The central directory is read lazily, on the first access to Entries.
            zip.Dispose();
            throw new InvalidInputFileException(path, null, $"not a valid zip archive: {e.Message}", e);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads array <paramref name="name"/> into an owned tensor. The sizes the zip directory declares are checked
    /// before anything is allocated: the compressed data must fit in the file, the entry may not expand beyond
    /// <see cref="DecompressionLimits"/>, and the array the <c>.npy</c> header describes must fit in the entry.
    /// </summary>
    /// <exception cref="InvalidInputFileException">No such array, or the entry is corrupt or claims more than it holds.</exception>
    public Tensor ReadTensor(string name)
    {
        if (!_entries.TryGetValue(name, out ZipArchiveEntry? entry))
        {
            throw new InvalidInputFileException(Path, name, "no such array in the archive");
        }

        if (entry.CompressedLength > _fileLength)
        {
            throw new InvalidInputFileException(Path, name,
                $"the zip directory declares {entry.CompressedLength} compressed bytes for this entry; the file has {_fileLength}");
        }

        if (!DecompressionLimits.Allows(entry.Length, entry.CompressedLength))
        {
            throw new InvalidInputFileException(Path, name, DecompressionLimits.Describe(entry.Length, entry.CompressedLength, "the zip entry"));
        }

        try
        {
            using Stream s = entry.Open();
            return NpyFile.Read(s, Path, name, requireEnd: true, length: entry.Length);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidInputFileException(Path, name, $"corrupt zip entry: {e.Message}", e);
        }
        catch (NotSupportedException e)
        {
            throw new UnsupportedFeatureException(Path, name, $"zip entry cannot be read: {e.Message}");
        }
    }

    /// <summary>Reads every array, in stored order. The caller disposes the tensors.</summary>
    public static IReadOnlyList<(string Name, Tensor Tensor)> Read(string path)
    {
        using NpzArchive archive = Open(path);
        var result = new List<(string, Tensor)>(archive.Names.Count);
        try
        {
            foreach (string name in archive.Names)
            {
                result.Add((name, archive.ReadTensor(name)));
            }
        }
        catch
        {
            result.ForEach(r => r.Item2.Dispose());
            throw;
        }

        return result;
    }

    /// <summary>
    /// Writes an archive atomically, entries in the given order, each deflated when <paramref name="compressed"/>
    /// (like <c>numpy.savez_compressed</c>) or stored (like <c>numpy.savez</c>). Same inputs, same bytes.
    /// <paramref name="entries"/> is enumerated once, as the archive is written: each tensor is written whole before the
    /// next one is asked for, so a caller may make each tensor when it is asked for and release it at the next.
    /// </summary>
    /// <exception cref="ArgumentException">A name is empty, repeated, or contains a path separator.</exception>
    /// <exception cref="UnsupportedFeatureException">A tensor numpy cannot represent (bf16, Q4_0).</exception>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> entries, bool compressed) =>
        AtomicFile.Write(path, stream => Write(stream, entries, compressed));

    /// <summary>Writes an archive to <paramref name="destination"/> (left open), as <see cref="Write(string, IEnumerable{ValueTuple{string, Tensor}}, bool)"/>.</summary>
    public static void Write(Stream destination, IEnumerable<(string Name, Tensor Tensor)> entries, bool compressed)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var zip = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        foreach ((string name, Tensor tensor) in entries)
        {
            // Array names come from models; they must not turn into directories when the archive is extracted.
            if (name.Length == 0 || name.IndexOfAny(['/', '\\', '\0']) >= 0 || name is "." or "..")
            {
                throw new ArgumentException($"Array name '{name}' cannot be an npz entry name.", nameof(entries));
            }

            if (!seen.Add(name))
            {
                throw new ArgumentException($"Array name '{name}' is repeated.", nameof(entries));
            }

            ZipArchiveEntry entry = zip.CreateEntry(name + Suffix, compressed ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
            entry.LastWriteTime = ZipEpoch;
            using Stream s = entry.Open();
            NpyFile.Write(s, tensor);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _zip.Dispose();
}
