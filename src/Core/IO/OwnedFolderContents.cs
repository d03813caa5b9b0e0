namespace TorchToNnef.IO;

/// <summary>
/// Decides whether an existing folder holds only what one of our writers produces, so that overwrite may replace it:
/// every entry, walked recursively, must be accepted by the writer's rule, no entry may be a symbolic link (replacing
/// the folder must never reach outside it), and the one file that marks the writer's output must be present.
/// </summary>
public static class OwnedFolderContents
{
    /// <summary>
    /// Null when every entry of <paramref name="folder"/> is accepted and <paramref name="markerFile"/> is present,
    /// else the first reason it is not (shown to the user).
    /// </summary>
    /// <param name="folder">The existing folder.</param>
    /// <param name="whyNotOurs">
    /// For an entry's path relative to the folder (with <c>/</c> separators) and whether it is a folder: null when our
    /// writer makes such an entry, else the reason, e.g. "holds 'notes.txt', which is not part of an NNEF model".
    /// </param>
    /// <param name="markerFile">The relative path of the file every output of this writer has (e.g. <c>graph.nnef</c>).</param>
    /// <param name="markerMissing">The reason given when <paramref name="markerFile"/> is absent.</param>
    public static string? WhyNotOwned(string folder, Func<string, bool, string?> whyNotOurs, string markerFile, string markerMissing)
    {
        bool hasMarker = false;
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
        foreach (FileSystemInfo entry in new DirectoryInfo(folder).EnumerateFileSystemInfos("*", options))
        {
            string relative = Path.GetRelativePath(folder, entry.FullName).Replace('\\', '/');
            if (entry.LinkTarget is not null)
            {
                return $"holds the symbolic link '{relative}'";
            }

            bool isFolder = entry is DirectoryInfo;
            if (whyNotOurs(relative, isFolder) is string why)
            {
                return why;
            }

            hasMarker |= !isFolder && relative == markerFile;
        }

        return hasMarker ? null : markerMissing;
    }
}
