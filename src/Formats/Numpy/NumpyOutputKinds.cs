using System.IO.Compression;
using TorchToNnef.IO;

namespace TorchToNnef.Formats.Numpy;

/// <summary>How the output policy recognises an existing <c>.npz</c>, the only thing overwrite may replace with one.</summary>
public static class NumpyOutputKinds
{
    /// <summary>An <c>.npz</c>: a zip archive whose entries are all <c>.npy</c> arrays.</summary>
    public static OutputKind Npz { get; } = OutputKind.File("an npz archive of arrays", WhyNotAnNpz);

    private static string? WhyNotAnNpz(string path)
    {
        try
        {
            using ZipArchive zip = ZipFile.OpenRead(path);
            ZipArchiveEntry? other = zip.Entries.FirstOrDefault(e => !e.FullName.EndsWith(".npy", StringComparison.Ordinal));
            return other is null ? null : $"holds '{other.FullName}', which is not an .npy array";
        }
        catch (InvalidDataException e)
        {
            return $"it is not a zip archive: {e.Message}";
        }
    }
}
