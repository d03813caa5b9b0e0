using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using TorchToNnef.Errors;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// The members of an NNEF archive that tract uses, collected with tract's rules (nnef-archive.md §1.3): the root
/// <c>graph.nnef</c> and <c>graph.quant</c>, and every <c>.dat</c> file keyed by its path without the last extension.
/// Any path component starting with <c>.</c> is ignored (tract skips hidden files); other files are ignored. From a
/// directory the <c>.dat</c> headers are read and validated but payloads stay on disk; from a <c>.tgz</c>/<c>.tar</c>
/// the archive is streamed once and members are kept in memory (never extracted). Members escaping the root
/// (<c>..</c>, absolute paths, links) are errors.
/// </summary>
internal sealed class ArchiveResources
{
    /// <summary>Largest <c>graph.nnef</c> or <c>graph.quant</c> accepted (text held in memory).</summary>
    internal const long MaxTextBytes = 64L << 20;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly bool _fromDirectory;
    private readonly bool _headersOnly;

    private ArchiveResources(string origin, bool fromDirectory, bool headersOnly)
    {
        Origin = origin;
        _fromDirectory = fromDirectory;
        _headersOnly = headersOnly;
    }

    /// <summary>The path that was opened.</summary>
    public string Origin { get; }

    /// <summary>Text of the root <c>graph.nnef</c>.</summary>
    public string GraphText { get; private set; } = string.Empty;

    /// <summary>Location of <c>graph.nnef</c> for messages.</summary>
    public string GraphLocation { get; private set; } = string.Empty;

    /// <summary>Text of the root <c>graph.quant</c>, if present.</summary>
    public string? QuantText { get; private set; }

    /// <summary>Location of <c>graph.quant</c> for messages.</summary>
    public string? QuantLocation { get; private set; }

    /// <summary><c>.dat</c> sources keyed by resource id (path without <c>.dat</c>).</summary>
    public Dictionary<string, DatTensorSource> Dats { get; } = new(StringComparer.Ordinal);

    /// <summary>Collects the resources of a directory, a <c>graph.nnef</c> file's directory, or a tar/tgz file.</summary>
    public static ArchiveResources Open(string path, bool headersOnly = false)
    {
        if (Directory.Exists(path))
        {
            return FromDirectory(path, headersOnly);
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"NNEF archive not found: {path}", path);
        }

        if (Path.GetFileName(path) == "graph.nnef")
        {
            return FromDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!, headersOnly);
        }

        using FileStream fs = new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return FromStream(fs, path, headersOnly);
    }

    /// <summary>Collects the resources of a tar or gzip-compressed tar stream (sniffed by its first two bytes).</summary>
    public static ArchiveResources FromStream(Stream stream, string origin, bool headersOnly)
    {
        var resources = new ArchiveResources(origin, fromDirectory: false, headersOnly);
        var buffered = new BufferedStream(stream, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        int got = buffered.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        if (got < 2)
        {
            throw new InvalidInputFileException(origin, null, "empty file: not an NNEF archive");
        }

        // BufferedStream cannot un-read: re-assemble the stream with the two sniffed bytes in front.
        Stream raw = new PrefixedStream(magic[..got].ToArray(), buffered);
        bool gzip = magic[0] == 0x1f && magic[1] == 0x8b;
        try
        {
            using Stream tarStream = gzip ? new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true) : raw;
            resources.ReadTar(new TarMetadataGuard(tarStream));
        }
        // OverflowException: System.Formats.Tar reads a base-256 mode, uid or gid too large for an int (found by fuzzing).
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException or OverflowException)
        {
            throw new InvalidInputFileException(origin, null, $"corrupt or truncated {(gzip ? "gzip/tar" : "tar")} archive: {e.Message}", e);
        }

        resources.RequireGraph();
        return resources;
    }

    private static ArchiveResources FromDirectory(string dir, bool headersOnly)
    {
        var resources = new ArchiveResources(dir, fromDirectory: true, headersOnly);
        resources.Walk(dir, string.Empty);
        resources.RequireGraph();
        return resources;
    }

    private void Walk(string dir, string relative)
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(entry);
            if (name.StartsWith('.'))
            {
                continue;
            }

            string rel = relative.Length == 0 ? name : relative + "/" + name;
            var info = new FileInfo(entry);
            if ((info.Attributes & FileAttributes.Directory) != 0)
            {
                // Symbolic links to directories are not followed: they could loop or leave the archive root.
                if (info.LinkTarget is null)
                {
                    Walk(entry, rel);
                }

                continue;
            }

            AddFile(rel, entry, FileLength(entry), () => new FileStream(entry, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16));
        }
    }

    private static long FileLength(string path)
    {
        using var handle = File.OpenHandle(path);
        return RandomAccess.GetLength(handle);
    }

    private void ReadTar(Stream tarStream)
    {
        using var reader = new TarReader(tarStream, leaveOpen: true);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextEntry(reader) is TarEntry entry)
        {
            string name = entry.Name;
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                case TarEntryType.GlobalExtendedAttributes:
                    continue;
                case TarEntryType.SymbolicLink:
                case TarEntryType.HardLink:
                    throw new InvalidInputFileException(Origin, name, "archive members that are links are not allowed");
                case TarEntryType.RegularFile:
                case TarEntryType.V7RegularFile:
                case TarEntryType.ContiguousFile:
                    break;
                default:
                    throw new InvalidInputFileException(Origin, name, $"unsupported tar member type {entry.EntryType}");
            }

            string? rel = NormalizeMemberName(name);
            if (rel is null)
            {
                continue;
            }

            if (!seen.Add(rel))
            {
                throw new InvalidInputFileException(Origin, name, "the archive holds this member twice");
            }

            Stream data = entry.DataStream ?? Stream.Null;
            AddFile(rel, $"{Origin}:{rel}", entry.Length, () => new NonClosingStream(data));
        }
    }

    // System.Formats.Tar reports a metadata entry (PAX, GNU long name) whose size field exceeds what it can hold as
    // InvalidOperationException, and a GNU sparse member as NotSupportedException (both found by fuzzing); only that
    // call's are translated, so our own bugs stay visible.
    private TarEntry? NextEntry(TarReader reader)
    {
        try
        {
            return reader.GetNextEntry(copyData: false);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidInputFileException(Origin, null, $"corrupt tar archive: {e.Message}", e);
        }
        catch (NotSupportedException e)
        {
            throw new UnsupportedFeatureException(Origin, null, $"tar archive: {e.Message}");
        }
    }

    /// <summary>Validates a tar member path; returns it without a <c>./</c> prefix, or null for a hidden member.</summary>
    private string? NormalizeMemberName(string name)
    {
        string n = name;
        while (n.StartsWith("./", StringComparison.Ordinal))
        {
            n = n[2..];
        }

        if (n.Length == 0 || n[0] == '/' || n.Contains('\\', StringComparison.Ordinal) || n.Contains('\0', StringComparison.Ordinal)
            || (n.Length >= 2 && n[1] == ':'))
        {
            throw new InvalidInputFileException(Origin, name, "archive member path is absolute or malformed");
        }

        string[] parts = n.TrimEnd('/').Split('/');
        if (parts.Any(p => p is ".." || p.Length == 0))
        {
            throw new InvalidInputFileException(Origin, name, "archive member path escapes the archive root");
        }

        return parts.Any(p => p.StartsWith('.')) ? null : string.Join('/', parts);
    }

    private void AddFile(string rel, string location, long length, Func<Stream> open)
    {
        string last = rel[(rel.LastIndexOf('/') + 1)..];
        bool atRoot = !rel.Contains('/', StringComparison.Ordinal);
        if (last == "graph.nnef")
        {
            if (!atRoot)
            {
                throw new UnsupportedFeatureException(location, null, "nested models (a graph.nnef below the archive root) are not supported");
            }

            GraphText = ReadText(location, length, open);
            GraphLocation = location;
        }
        else if (last == "graph.quant")
        {
            if (atRoot)
            {
                QuantText = ReadText(location, length, open);
                QuantLocation = location;
            }
        }
        else if (last.EndsWith(".dat", StringComparison.Ordinal))
        {
            string id = rel[..^4];
            if (Dats.ContainsKey(id))
            {
                throw new InvalidInputFileException(location, id, "two members map to the same tensor");
            }

            Dats[id] = ReadDat(id, location, length, open);
        }
    }

    private DatTensorSource ReadDat(string id, string location, long length, Func<Stream> open)
    {
        using Stream s = open();
        byte[] head = new byte[DatHeader.Size];
        int got = s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        DatHeader header = DatHeader.Parse(head.AsSpan(0, got), location, id);
        if (length != DatHeader.Size + header.DataSize)
        {
            throw new InvalidInputFileException(
                location, id, $"file is {length} bytes but its header announces {DatHeader.Size} + {header.DataSize}");
        }

        if (_fromDirectory)
        {
            return _headersOnly ? DatTensorSource.HeaderOnly(header, location) : DatTensorSource.FromFile(header, location);
        }

        if (_headersOnly)
        {
            // Stream past the payload without keeping it, still checking that it is all there.
            long skipped = 0;
            byte[] sink = new byte[1 << 16];
            for (int n; (n = s.Read(sink)) > 0;)
            {
                skipped += n;
            }

            return skipped == header.DataSize
                ? DatTensorSource.HeaderOnly(header, location)
                : throw new InvalidInputFileException(location, id, $"truncated payload: {skipped} of {header.DataSize} bytes");
        }

        MemoryPayload rest;
        try
        {
            rest = MemoryPayload.ReadExactly(new PrefixedStream(head, s), length);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidInputFileException(location, id, $"truncated payload: {e.Message}");
        }

        return DatTensorSource.FromMemory(header, location, rest);
    }

    private static string ReadText(string location, long length, Func<Stream> open)
    {
        if (length > MaxTextBytes)
        {
            throw new InvalidInputFileException(location, null, $"{length} bytes exceeds the {MaxTextBytes >> 20} MiB limit for this file");
        }

        using Stream s = open();
        byte[] bytes = new byte[length];
        int got = s.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (got != length)
        {
            throw new InvalidInputFileException(location, null, $"truncated: {got} of {length} bytes");
        }

        try
        {
            ReadOnlySpan<byte> span = bytes;
            if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                span = span[3..];
            }

            return StrictUtf8.GetString(span);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidInputFileException(location, null, $"not valid UTF-8 text: {e.Message}");
        }
    }

    private void RequireGraph()
    {
        if (GraphLocation.Length == 0)
        {
            throw new InvalidInputFileException(Origin, null, "no graph.nnef at the archive root");
        }
    }
}
