using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using TorchToNnef.Errors;

namespace TorchToNnef.IO;

/// <summary>
/// Opens the files a reader consumes, refusing anything that is not a regular file. A FIFO would block the open
/// until some writer appears (forever, for a model folder), and a device such as <c>/dev/zero</c> yields endless
/// bytes; both are errors naming the path. On Linux the type is checked before opening (following symbolic links,
/// as an open does), the open itself uses <c>O_NONBLOCK</c> so that a FIFO swapped in after the check cannot block
/// it either, and the opened descriptor is checked again. Elsewhere the type check relies on what .NET reports.
/// </summary>
internal static partial class InputFile
{
    /// <summary>Opens <paramref name="path"/> for reading.</summary>
    /// <exception cref="InvalidInputFileException">The path is a FIFO, socket, device or directory.</exception>
    /// <exception cref="FileNotFoundException">Nothing at <paramref name="path"/>.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static SafeFileHandle OpenHandle(string path)
    {
        if (Posix.IsAvailable)
        {
            try
            {
                return Posix.OpenRegular(path);
            }
            catch (EntryPointNotFoundException)
            {
                // A C library without statx (glibc before 2.28): fall back to what .NET can tell.
                Posix.IsAvailable = false;
            }
        }

        if (Directory.Exists(path))
        {
            throw NotRegular(path, "a directory");
        }

        return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    /// <summary>Opens <paramref name="path"/> as a read-only stream (see <see cref="OpenHandle"/>).</summary>
    public static FileStream OpenRead(string path, int bufferSize = 1 << 16)
    {
        SafeFileHandle handle = OpenHandle(path);
        try
        {
            return new FileStream(handle, FileAccess.Read, bufferSize);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads a whole small file (JSON, graph text) after checking its size against <paramref name="maxBytes"/>; the
    /// buffer is the size the file has, never what a stream might go on producing.
    /// </summary>
    /// <exception cref="InvalidInputFileException">Not a regular file, larger than the limit, or shorter than its size when read.</exception>
    public static byte[] ReadAllBytes(string path, long maxBytes, string what)
    {
        using SafeFileHandle handle = OpenHandle(path);
        long length = RandomAccess.GetLength(handle);
        if (length > maxBytes)
        {
            throw new InvalidInputFileException(path, null, $"{what} is {length} bytes, above the {maxBytes}-byte limit");
        }

        byte[] bytes = new byte[length];
        int filled = 0;
        while (filled < bytes.Length)
        {
            int n = RandomAccess.Read(handle, bytes.AsSpan(filled), filled);
            if (n <= 0)
            {
                throw new InvalidInputFileException(path, null, $"{what} shrank while it was read ({filled} of {length} bytes)");
            }

            filled += n;
        }

        return bytes;
    }

    /// <summary>The error for a path that exists but is not a regular file.</summary>
    internal static InvalidInputFileException NotRegular(string path, string kind) =>
        new(path, null, $"not a regular file but {kind}; inputs must be regular files");

    /// <summary>
    /// The few libc calls .NET does not expose: <c>statx</c> (whose layout is the same on every Linux architecture)
    /// and <c>open</c> with <c>O_NONBLOCK</c>. Flag values are those of x86-64, ARM and AArch64.
    /// </summary>
    private static unsafe partial class Posix
    {
        private const int AtFdCwd = -100;
        private const int AtEmptyPath = 0x1000;
        private const uint StatxType = 0x1;
        private const int ModeOffset = 28;
        private const int StatxSize = 256;
        private const int ONonBlock = 0x800;
        private const int ONoCtty = 0x100;
        private const int OCloExec = 0x80000;
        private const int ENoEnt = 2;
        private const int EAcces = 13;
        private const int ENotDir = 20;
        private const int ELoop = 40;
        private const int ENameTooLong = 36;

        public static bool IsAvailable { get; set; } = OperatingSystem.IsLinux()
            && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64 or Architecture.Arm;

        public static SafeFileHandle OpenRegular(string path)
        {
            // Checked first so that the common mistakes get their error without any open.
            CheckRegular(Stat(AtFdCwd, path, 0, path), path);
            int fd = Open(path, ONonBlock | ONoCtty | OCloExec, 0);
            if (fd < 0)
            {
                throw OpenError(Marshal.GetLastPInvokeError(), path);
            }

            var handle = new SafeFileHandle(fd, ownsHandle: true);
            try
            {
                CheckRegular(Stat(fd, string.Empty, AtEmptyPath, path), path);
                return handle;
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        private static void CheckRegular(ushort mode, string path)
        {
            string? kind = (mode & 0xF000) switch
            {
                0x8000 => null,
                0x4000 => "a directory",
                0x1000 => "a FIFO (named pipe)",
                0x2000 => "a character device",
                0x6000 => "a block device",
                0xC000 => "a socket",
                _ => $"a file of type {Convert.ToString(mode >> 12, 8)} (octal)",
            };
            if (kind is not null)
            {
                throw NotRegular(path, kind);
            }
        }

        private static ushort Stat(int dirFd, string path, int flags, string display)
        {
            byte* buffer = stackalloc byte[StatxSize];
            if (Statx(dirFd, path, flags, StatxType, buffer) != 0)
            {
                throw OpenError(Marshal.GetLastPInvokeError(), display);
            }

            return *(ushort*)(buffer + ModeOffset);
        }

        private static Exception OpenError(int errno, string path) => errno switch
        {
            ENoEnt or ENotDir => new FileNotFoundException($"Could not find file '{path}'.", path),
            EAcces => new UnauthorizedAccessException($"Access to the path '{path}' is denied."),
            ELoop => new IOException($"{path}: too many levels of symbolic links"),
            ENameTooLong => new PathTooLongException($"{path}: the path is too long"),
            _ => new IOException($"{path}: cannot open ({Marshal.GetPInvokeErrorMessage(errno)})"),
        };

        [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        private static partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        private static partial int Open(string path, int flags, int mode);
    }
}
