using Microsoft.Win32.SafeHandles;

namespace TorchToNnef.IO;

/// <summary>
/// A temporary file for data that must leave memory but is no output: the payloads of a compressed archive's
/// members, copied so that they can be mapped and read by offset. It lives in the system's temporary folder
/// (<c>TMPDIR</c>) under a <see cref="TempNames"/> name and has no name once created: on Unix it is unlinked at once
/// (the open handle keeps its data), on Windows it is deleted when closed. Nothing is left behind whatever happens to
/// the process, and its space is given back when the last handle closes.
/// </summary>
internal sealed class ScratchFile : IDisposable
{
    private ScratchFile(SafeFileHandle handle)
    {
        Handle = handle;
    }

    /// <summary>The open handle (read and write).</summary>
    public SafeFileHandle Handle { get; }

    /// <summary>Bytes written so far.</summary>
    public long Length { get; private set; }

    /// <summary>Creates an empty, unnamed temporary file.</summary>
    public static ScratchFile Create()
    {
        string path = Path.Combine(Path.GetTempPath(), TempNames.NewTemporary());
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

        return new ScratchFile(handle);
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
