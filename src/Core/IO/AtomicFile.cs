namespace TorchToNnef.IO;

/// <summary>
/// Writes one file so that it appears complete or not at all: the content goes to a temporary file next to the
/// destination (same directory, so the final rename stays on one file system) and is then moved over the
/// destination. If writing fails (or is cancelled) the temporary file is deleted and the destination is untouched.
/// A one-output <see cref="OutputTransaction"/> that may replace any existing regular file; commands use a
/// transaction of their own, which also knows their inputs and what they may replace.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, atomically, flushed to the device.</summary>
    /// <param name="path">Destination; replaced if it is a file (never through a symbolic link, never a folder).</param>
    /// <param name="write">Writes the whole content to the stream it is given (a seekable, writable file stream).</param>
    public static void Write(string path, Action<FileStream> write) => Write(path, write, durable: true);

    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>, atomically. With <paramref name="durable"/> the
    /// content is flushed to the storage device before the move (it survives a power loss, at the cost of waiting for
    /// the disk); without it the move is still atomic for other processes and for a crash of this one, as with
    /// <c>cp</c> or <c>mv</c>.
    /// </summary>
    /// <exception cref="Errors.OutputRefusedException">The destination is a folder, a symbolic link or a root.</exception>
    public static void Write(string path, Action<FileStream> write, bool durable, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var transaction = new OutputTransaction(new OutputOptions { Overwrite = true }, cancellation);
        OutputTarget target = transaction.AddOutput(path, OutputKind.AnyFile);
        using (FileStream stream = target.CreateFile())
        {
            write(stream);
            stream.Flush(flushToDisk: durable);
        }

        transaction.Commit();
    }
}
