namespace TorchToNnef.IO;

/// <summary>
/// Writes a file so that it appears complete or not at all: the content goes to a temporary file next to the
/// destination (same directory, so the final rename stays on one file system), is flushed to disk, and is then
/// moved over the destination. If writing fails the temporary file is deleted and the destination is untouched.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, atomically.</summary>
    /// <param name="path">Destination; replaced if it exists.</param>
    /// <param name="write">Writes the whole content to the stream it is given (a seekable, writable file stream).</param>
    public static void Write(string path, Action<FileStream> write) => Write(path, write, durable: true);

    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>, atomically. With <paramref name="durable"/> the
    /// content is flushed to the storage device before the move (it survives a power loss, at the cost of waiting for
    /// the disk); without it the move is still atomic for other processes and for a crash of this one, as with
    /// <c>cp</c> or <c>mv</c>.
    /// </summary>
    public static void Write(string path, Action<FileStream> write, bool durable)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no directory.", nameof(path));
        string temp = TempPathFor(directory, Path.GetFileName(full));
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: durable);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>A fresh hidden temporary name for <paramref name="fileName"/> in <paramref name="directory"/>.</summary>
    public static string TempPathFor(string directory, string fileName) =>
        Path.Combine(directory, $".{fileName}.{Guid.NewGuid():N}.tmp");

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original error is what the caller needs to see.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
