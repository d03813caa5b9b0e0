using System.IO.Compression;
using TorchToNnef.Errors;
using TorchToNnef.IO;

namespace TorchToNnef.Formats.Nnef;

/// <summary>
/// How the output policy recognises an existing NNEF output, the only thing overwrite may replace: a folder that
/// holds <c>graph.nnef</c> and nothing but NNEF model files (<c>graph.nnef</c>, <c>graph.quant</c>, <c>.dat</c> files,
/// sub-folders of <c>.dat</c> files; no symbolic link), a tar or gzip-compressed tar whose members are the same, or a
/// single tensor <c>.dat</c> file with a valid header. Recognition reads names and headers only (an archive's member
/// headers are scanned, its data skipped).
/// </summary>
public static class NnefOutputKinds
{
    /// <summary>A folder holding an NNEF model.</summary>
    public static OutputKind ModelFolder { get; } = OutputKind.Directory("a folder holding only an NNEF model", WhyNotAModelFolder);

    /// <summary>An NNEF archive file (<c>.tar</c> or gzip-compressed).</summary>
    public static OutputKind ArchiveFile { get; } = OutputKind.File("an NNEF archive", WhyNotAnArchive);

    /// <summary>A tensor <c>.dat</c> file.</summary>
    public static OutputKind TensorFile { get; } = OutputKind.File("an NNEF tensor file (.dat)", WhyNotATensorFile);

    /// <summary>The kind for a container format (<see cref="NnefArchiveFormat.Auto"/> is not accepted).</summary>
    public static OutputKind For(NnefArchiveFormat format) => format switch
    {
        NnefArchiveFormat.Directory => ModelFolder,
        NnefArchiveFormat.Tgz or NnefArchiveFormat.Tar => ArchiveFile,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "resolve Auto from the destination first"),
    };

    private static bool IsModelMember(string relativePath, out bool isGraph)
    {
        isGraph = relativePath == "graph.nnef";
        return isGraph || relativePath == "graph.quant" || relativePath.EndsWith(".dat", StringComparison.Ordinal);
    }

    private static string? WhyNotAModelFolder(string folder) => OwnedFolderContents.WhyNotOwned(
        folder,
        (relative, isFolder) => isFolder || IsModelMember(relative, out _) ? null : $"holds '{relative}', which is not part of an NNEF model",
        markerFile: "graph.nnef",
        markerMissing: "it has no graph.nnef");

    // Read with our own tar reader (headers only, sizes checked, data skipped), the one the archive reader uses.
    private static string? WhyNotAnArchive(string file)
    {
        using FileStream stream = InputFile.OpenRead(file);
        Span<byte> magic = stackalloc byte[2];
        bool gzip = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
        stream.Position = 0;
        using Stream content = gzip ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true) : stream;
        bool hasGraph = false;
        try
        {
            var tar = new Archive.TarStreamReader(content, gzip ? null : stream.Length);
            while (tar.Next() is Archive.TarMember member)
            {
                string name = member.Name.Replace('\\', '/').TrimEnd('/');
                while (name.StartsWith("./", StringComparison.Ordinal))
                {
                    name = name[2..];
                }

                if (member.Type == '5')
                {
                    continue;
                }

                if (!member.IsRegularFile)
                {
                    return $"holds '{name}', a member of type '{member.Type}', which is not part of an NNEF model";
                }

                if (!IsModelMember(name, out bool isGraph))
                {
                    return $"holds '{name}', which is not part of an NNEF model";
                }

                hasGraph |= isGraph;
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or Archive.TarFormatException)
        {
            return $"it is not a tar archive: {e.Message}";
        }

        return hasGraph ? null : "it has no graph.nnef";
    }

    private static string? WhyNotATensorFile(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, DatHeader.Size);
        Span<byte> header = stackalloc byte[DatHeader.Size];
        if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
        {
            return "it is shorter than a tensor file header";
        }

        try
        {
            DatHeader.Parse(header, file, null);
            return null;
        }
        catch (TorchToNnefException e)
        {
            return $"no tensor file header: {e.Message}";
        }
    }
}
