using Microsoft.Win32.SafeHandles;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// A temporary file that holds the payloads of a compressed archive's members, so that they can be mapped and read
/// by offset like the members of an uncompressed tar instead of being held in memory. It lives in the system's
/// temporary folder (<c>TMPDIR</c>) and has no name once created: on Unix it is unlinked at once (the open handle
/// keeps its data), on Windows it is deleted when closed. Nothing is left behind whatever happens to the process, and
/// its space is given back when the last handle closes — when the graph that reads it is collected, or at exit.
/// </summary>
internal sealed class SpillFile : IDisposable
{
    private SpillFile(SafeFileHandle handle)
    {
        Handle = handle;
    }

    /// <summary>The open handle (read and write).</summary>
    public SafeFileHandle Handle { get; }

    /// <summary>Bytes written so far.</summary>
    public long Length { get; private set; }

    /// <summary>Creates an empty, unnamed temporary file.</summary>
    public static SpillFile Create()
    {
        string path = Path.Combine(Path.GetTempPath(), $"t2n-{Environment.ProcessId}-{Guid.NewGuid():N}.spill");
        FileOptions options = OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None;
        SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, options);
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(handle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                File.Delete(path);
            }
        }
        catch
        {
            handle.Dispose();
            TryDelete(path);
            throw;
        }

        return new SpillFile(handle);
    }

    /// <summary>Appends the next <paramref name="count"/> data bytes of the reader's current member; returns where they start.</summary>
    public long Append(TarStreamReader reader, long count)
    {
        long start = Length;
        reader.CopyData(count, this, static (piece, spill) => spill.Append(piece));
        return start;
    }

    /// <summary>Appends <paramref name="bytes"/>.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        RandomAccess.Write(Handle, bytes, Length);
        Length += bytes.Length;
    }

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
