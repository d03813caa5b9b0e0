using System.IO.Compression;
using System.Text;
using Microsoft.Win32.SafeHandles;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef.Text;
using TorchToNnef.IO;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// The members of an NNEF archive that tract uses, collected with tract's rules (nnef-archive.md §1.3): the root
/// <c>graph.nnef</c> (parsed as soon as it is read) and <c>graph.quant</c>, and every <c>.dat</c> file keyed by its
/// path without the last extension. Any path component starting with <c>.</c> is ignored (tract skips hidden files),
/// and so are other files, which are never opened. Only regular files are read: a FIFO or a device is an error.
/// <para>
/// Every <c>.dat</c> header is read and validated, and its size checked against the bytes its file or member holds;
/// payloads are never read here. From a directory they stay in their files, from an uncompressed <c>.tar</c> they
/// are addressed by offset in the archive (nothing is loaded). A <c>.tgz</c> (or any stream) is decompressed once,
/// forward, which checks its gzip checksums; its expansion is bounded (<see cref="ExpansionGuard"/>,
/// <see cref="TarStreamReader.MaxTrailingBytes"/>). A level-0 <c>.tgz</c> file (stored blocks, see
/// <see cref="StoredGzipIndex"/>) then has its payloads read in place, like a <c>.tar</c>; from any other gzip the
/// payloads of members a variable refers to — or that come before <c>graph.nnef</c>, when it is not known yet — are
/// copied to a <see cref="ScratchFile"/>, the others skipped. Members escaping the root (<c>..</c>, absolute paths, links)
/// are errors.
/// </para>
/// </summary>
internal sealed class ArchiveResources
{
    /// <summary>Largest <c>graph.nnef</c> or <c>graph.quant</c> accepted (text held in memory).</summary>
    internal const long MaxTextBytes = 64L << 20;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly bool _headersOnly;
    private readonly StoredGzipFile? _stored;
    private HashSet<string>? _referenced;
    private ScratchFile? _spill;

    private ArchiveResources(string origin, bool headersOnly, StoredGzipFile? stored = null)
    {
        Origin = origin;
        _headersOnly = headersOnly;
        _stored = stored;
    }

    /// <summary>The path that was opened.</summary>
    public string Origin { get; }

    /// <summary>The parsed root <c>graph.nnef</c> (variables not bound yet).</summary>
    public Graph Graph { get; private set; } = null!;

    /// <summary>For each identifier of the document, the IR names it was bound to (see <see cref="GraphText"/>).</summary>
    public Dictionary<string, List<string>> Bindings { get; private set; } = [];

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

        SafeFileHandle handle = InputFile.OpenHandle(path);
        bool keepHandle = false;
        try
        {
            long length = RandomAccess.GetLength(handle);
            Span<byte> magic = stackalloc byte[2];
            int got = RandomAccess.Read(handle, magic, 0);
            if (got < 2)
            {
                throw new InvalidInputFileException(path, null, "empty file: not an NNEF archive");
            }

            if (magic[0] == 0x1f && magic[1] == 0x8b)
            {
                // Level 0 (stored blocks, torch_to_nnef's default): payloads are read in place, like a .tar's.
                StoredGzipIndex? index = headersOnly ? null : StoredGzipIndex.TryBuild(handle, length);
                using var raw = new BufferedStream(new HandleStream(handle, length), 1 << 16);
                ArchiveResources tgz = FromGzip(raw, path, length, headersOnly, index is null ? null : new StoredGzipFile(handle, index));
                keepHandle = index is not null && tgz.Dats.Values.Any(d => d.HasPayload);
                return tgz;
            }

            ArchiveResources tar = FromTarFile(handle, length, path, headersOnly);
            keepHandle = tar.Dats.Values.Any(d => d.HasPayload);
            return tar;
        }
        finally
        {
            if (!keepHandle)
            {
                handle.Dispose();
            }
        }
    }

    /// <summary>Collects the resources of a tar or gzip-compressed tar stream (sniffed by its first two bytes), read once.</summary>
    public static ArchiveResources FromStream(Stream stream, string origin, bool headersOnly)
    {
        long? length = stream.CanSeek ? stream.Length - stream.Position : null;
        var buffered = new BufferedStream(stream, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        int got = buffered.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        if (got < 2)
        {
            throw new InvalidInputFileException(origin, null, "empty file: not an NNEF archive");
        }

        // BufferedStream cannot un-read: re-assemble the stream with the two sniffed bytes in front.
        Stream raw = new PrefixedStream(magic[..got].ToArray(), buffered);
        return magic[0] == 0x1f && magic[1] == 0x8b
            ? FromGzip(raw, origin, length, headersOnly, stored: null)
            : FromForwardTar(raw, origin, headersOnly, guard: null, stored: null);
    }

    private static ArchiveResources FromGzip(Stream raw, string origin, long? compressedLength, bool headersOnly, StoredGzipFile? stored)
    {
        var counted = new CountingReadStream(raw);
        using var gzip = new GZipStream(counted, CompressionMode.Decompress, leaveOpen: true);
        var guard = new ExpansionGuard(gzip, counted, compressedLength);
        return FromForwardTar(guard, origin, headersOnly, guard, stored);
    }

    // Reads the archive once, forward: the gzip checksums and every header are checked even when payloads are
    // later read in place (stored), and the expansion is bounded.
    private static ArchiveResources FromForwardTar(Stream tar, string origin, bool headersOnly, ExpansionGuard? guard, StoredGzipFile? stored)
    {
        var resources = new ArchiveResources(origin, headersOnly, stored);
        try
        {
            resources.Scan(new TarStreamReader(tar, length: null), guard is null ? "tar" : "gzip/tar", resources.AddForward);
            resources.RequireGraph();
        }
        catch
        {
            resources._spill?.Dispose();
            throw;
        }

        if (resources._spill is not null && !resources.Dats.Values.Any(d => d.HasPayload))
        {
            resources._spill.Dispose();
        }

        return resources;
    }

    private static ArchiveResources FromTarFile(SafeFileHandle handle, long length, string origin, bool headersOnly)
    {
        var resources = new ArchiveResources(origin, headersOnly);
        using var stream = new BufferedStream(new HandleStream(handle, length), 1 << 16);
        resources.Scan(new TarStreamReader(stream, length), "tar", (member, reader) => resources.AddInPlace(member, reader, handle));
        resources.RequireGraph();
        return resources;
    }

    private static ArchiveResources FromDirectory(string dir, bool headersOnly)
    {
        var resources = new ArchiveResources(dir, headersOnly);
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

            if (Kind(rel) == MemberKind.Other)
            {
                // Never opened, so a FIFO or a device tract would not read either costs nothing.
                continue;
            }

            using SafeFileHandle handle = InputFile.OpenHandle(entry);
            long length = RandomAccess.GetLength(handle);
            using var stream = new HandleStream(handle, length);
            AddFile(rel, entry, length, stream, (id, header) => _headersOnly
                ? DatTensorSource.HeaderOnly(header, entry)
                : DatTensorSource.FromFile(header, entry));
        }
    }

    // Reads every member of a tar stream; errors of one member name it (and its tensor, for a .dat).
    private void Scan(TarStreamReader reader, string container, Action<TarMember, TarStreamReader> add)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            while (reader.Next() is TarMember member)
            {
                string name = member.Name;
                switch (member.Type)
                {
                    case '5':
                    case 'g':
                        continue;
                    case '1':
                    case '2':
                        throw new InvalidInputFileException(Origin, name, "archive members that are links are not allowed");
                    case '0' or '\0' or '7':
                        break;
                    default:
                        throw new InvalidInputFileException(Origin, name, $"unsupported tar member type '{Printable(member.Type)}'");
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

                try
                {
                    add(member with { Name = rel }, reader);
                }
                catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
                {
                    string? tensor = Kind(rel) == MemberKind.Dat ? rel[..^4] : null;
                    throw new InvalidInputFileException(Origin, tensor, $"member '{rel}': {e.Message}", e);
                }
            }
        }
        catch (TarFormatException e) when (e.Member is string member)
        {
            string? tensor = Kind(member) == MemberKind.Dat ? member.TrimStart('.', '/')[..^4] : null;
            throw new InvalidInputFileException(Origin, tensor, $"member '{member}': {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or TarFormatException)
        {
            throw new InvalidInputFileException(Origin, null, $"corrupt or truncated {container} archive: {e.Message}", e);
        }
    }

    // A member of a stream read once: texts into memory, the payloads variables read into the spill file, others skipped.
    private void AddForward(TarMember member, TarStreamReader reader)
    {
        string location = $"{Origin}:{member.Name}";
        AddFile(member.Name, location, member.Size, new TarMemberStream(reader), (id, header) =>
        {
            if (_stored is not null && !_headersOnly)
            {
                return DatTensorSource.FromStoredGzip(header, location, _stored, member.DataOffset + DatHeader.Size);
            }

            // Until graph.nnef has been read, any member may be needed.
            if (_headersOnly || (_referenced is not null && !_referenced.Contains(id)))
            {
                reader.SkipData();
                return DatTensorSource.HeaderOnly(header, location);
            }

            _spill ??= ScratchFile.Create();
            long offset = _spill.Length;
            reader.CopyData(header.DataSize, _spill, static (piece, spill) => spill.Append(piece));
            return DatTensorSource.FromRegion(header, location, _spill.Handle, offset);
        });
    }

    // A member of an uncompressed tar file: payloads stay in the archive and are read by offset.
    private void AddInPlace(TarMember member, TarStreamReader reader, SafeFileHandle archive)
    {
        string location = $"{Origin}:{member.Name}";
        AddFile(member.Name, location, member.Size, new TarMemberStream(reader), (id, header) => _headersOnly
            ? DatTensorSource.HeaderOnly(header, location)
            : DatTensorSource.FromRegion(header, location, archive, member.DataOffset + DatHeader.Size));
    }

    private void AddFile(string rel, string location, long length, Stream content, Func<string, DatHeader, DatTensorSource> source)
    {
        switch (Kind(rel))
        {
            case MemberKind.Graph:
                if (rel.Contains('/', StringComparison.Ordinal))
                {
                    throw new UnsupportedFeatureException(location, null, "nested models (a graph.nnef below the archive root) are not supported");
                }

                SetGraph(ReadText(location, length, content), location);
                break;
            case MemberKind.Quant:
                if (!rel.Contains('/', StringComparison.Ordinal))
                {
                    QuantText = ReadText(location, length, content);
                    QuantLocation = location;
                }

                break;
            case MemberKind.Dat:
                string id = rel[..^4];
                if (Dats.ContainsKey(id))
                {
                    throw new InvalidInputFileException(location, id, "two members map to the same tensor");
                }

                Dats[id] = source(id, ReadDatHeader(id, location, length, content));
                break;
        }
    }

    private void SetGraph(string text, string location)
    {
        Graph = GraphText.Parse(text, location, out Dictionary<string, List<string>> bindings);
        Bindings = bindings;
        GraphLocation = location;
        _referenced = new HashSet<string>(StringComparer.Ordinal);
        OperatorSchema variable = OperatorCatalog.Find(OperatorCatalog.NnefRegistry, Graph.VariableOp)!;
        foreach (Node node in Graph.Nodes)
        {
            if (node.Op == Graph.VariableOp && variable.Argument(node, "label") is StringLiteral { Value: string label })
            {
                _referenced.Add(label);
                _referenced.Add(label.TrimStart('/'));
            }
        }
    }

    private static DatHeader ReadDatHeader(string id, string location, long length, Stream content)
    {
        byte[] head = new byte[DatHeader.Size];
        int got = content.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        DatHeader header = DatHeader.Parse(head.AsSpan(0, got), location, id);
        if (length != DatHeader.Size + header.DataSize)
        {
            throw new InvalidInputFileException(
                location, id, $"file is {length} bytes but its header announces {DatHeader.Size} + {header.DataSize}");
        }

        return header;
    }

    private static string ReadText(string location, long length, Stream content)
    {
        if (length > MaxTextBytes)
        {
            throw new InvalidInputFileException(location, null, $"{length} bytes exceeds the {MaxTextBytes >> 20} MiB limit for this file");
        }

        byte[] bytes = new byte[length];
        int got = content.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
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

    private static MemberKind Kind(string rel)
    {
        string last = rel[(rel.LastIndexOf('/') + 1)..];
        return last switch
        {
            "graph.nnef" => MemberKind.Graph,
            "graph.quant" => MemberKind.Quant,
            _ when last.EndsWith(".dat", StringComparison.Ordinal) => MemberKind.Dat,
            _ => MemberKind.Other,
        };
    }

    private static string Printable(char c) => c is >= ' ' and < (char)0x7f ? c.ToString() : $"\\x{(int)c:X2}";

    private void RequireGraph()
    {
        if (GraphLocation.Length == 0)
        {
            throw new InvalidInputFileException(Origin, null, "no graph.nnef at the archive root");
        }
    }

    private enum MemberKind
    {
        Other,
        Graph,
        Quant,
        Dat,
    }
}
