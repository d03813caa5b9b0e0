using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;
using TorchToNnef.IO;

namespace TorchToNnef.Tensors;

/// <summary>
/// A read-only memory mapping of a whole file, or of one region of an open file (a member of an uncompressed tar, a
/// range of a temporary file). Mapping costs address space only; pages become resident when touched. <see cref="Slice"/> hands out zero-copy <see cref="TensorData"/> views; their <see cref="TensorData.Read"/>
/// uses positional file reads so that streaming a large tensor does not keep its pages in the resident set.
/// The mapping lives until this object is disposed; views must not be used afterwards.
/// </summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly long _start;
    private readonly bool _ownsHandle;
    private readonly MemoryMappedFile? _mmf;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;
    private int _disposed;

    private MappedFile(string path, SafeFileHandle handle, long start, long length, bool ownsHandle)
    {
        Path = path;
        _handle = handle;
        _start = start;
        _ownsHandle = ownsHandle;
        Length = length;
        if (length > 0)
        {
            _mmf = MemoryMappedFile.CreateFromFile(
                handle, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            _view = _mmf.CreateViewAccessor(start, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _pointer = p + _view.PointerOffset;
        }
    }

    /// <summary>Opens and maps <paramref name="path"/> read-only.</summary>
    /// <exception cref="Errors.InvalidInputFileException">The path is not a regular file (a FIFO or a device).</exception>
    public static MappedFile Open(string path)
    {
        SafeFileHandle handle = InputFile.OpenHandle(path);
        try
        {
            return new MappedFile(path, handle, 0, RandomAccess.GetLength(handle), ownsHandle: true);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Maps <paramref name="length"/> bytes at <paramref name="start"/> of a file that is already open (a member of a
    /// tar archive, a region of a temporary file); offsets of this object are then relative to
    /// <paramref name="start"/>. The handle stays the caller's unless <paramref name="ownsHandle"/> is set.
    /// </summary>
    /// <param name="handle">An open, readable handle of a regular file.</param>
    /// <param name="start">First byte of the region.</param>
    /// <param name="length">Bytes in the region.</param>
    /// <param name="name">Name used in messages (and as <see cref="Path"/>).</param>
    /// <param name="ownsHandle">Whether disposing the mapping closes the handle.</param>
    /// <exception cref="ArgumentOutOfRangeException">The region does not lie within the file.</exception>
    public static MappedFile FromHandle(SafeFileHandle handle, long start, long length, string name, bool ownsHandle)
    {
        if (start < 0 || length < 0 || start > RandomAccess.GetLength(handle) - length)
        {
            throw new ArgumentOutOfRangeException(
                nameof(start), $"{name}: region [{start}, {start}+{length}) is outside the {RandomAccess.GetLength(handle)}-byte file.");
        }

        return new MappedFile(name, handle, start, length, ownsHandle);
    }

    /// <summary>The path given to <see cref="Open"/> (or the name given to <see cref="FromHandle"/>).</summary>
    public string Path { get; }

    /// <summary>Size in bytes of the file, or of the mapped region.</summary>
    public long Length { get; }

    /// <summary>Zero-copy view of <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public ReadOnlySpan<byte> GetSpan(long offset, int length)
    {
        CheckRange(offset, length);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return length == 0 ? ReadOnlySpan<byte>.Empty : new ReadOnlySpan<byte>(_pointer + offset, length);
    }

    /// <summary>Copies bytes at <paramref name="offset"/> with a positional read (no mapping involved).</summary>
    public void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        while (!destination.IsEmpty)
        {
            int n = RandomAccess.Read(_handle, destination, _start + offset);
            if (n <= 0)
            {
                throw new EndOfStreamException($"{Path}: file shrank while reading at offset {offset}.");
            }

            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>
    /// A separate read-only mapping of <paramref name="length"/> bytes at <paramref name="offset"/>, unmapped when the
    /// window is disposed (its pages then leave the resident set). Safe to call from several threads.
    /// </summary>
    public TensorWindow OpenWindow(long offset, int length)
    {
        CheckRange(offset, length);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return length == 0 || _mmf is null ? new MappedWindow(null) : new MappedWindow(_mmf.CreateViewAccessor(_start + offset, length, MemoryMappedFileAccess.Read), length);
    }

    /// <summary>A <see cref="TensorData"/> over <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public TensorData Slice(long offset, long length)
    {
        CheckRange(offset, length);
        return new MappedTensorData(this, offset, length);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointer = null;
            _view.Dispose();
        }

        _mmf?.Dispose();
        if (_ownsHandle)
        {
            _handle.Dispose();
        }
    }

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(
                nameof(offset), $"{Path}: range [{offset}, {offset}+{length}) is outside the {Length}-byte file.");
        }
    }

    private sealed class MappedTensorData(MappedFile file, long offset, long length) : TensorData
    {
        public override long ByteLength => length;

        public override void Read(long offset1, Span<byte> destination)
        {
            CheckRange(offset1, destination.Length);
            file.Read(offset + offset1, destination);
        }

        public override TensorWindow? OpenWindow(long offset1, int length1)
        {
            CheckRange(offset1, length1);
            return file.OpenWindow(offset + offset1, length1);
        }

        public override bool TryGetSpan(out ReadOnlySpan<byte> bytes)
        {
            if (length > int.MaxValue)
            {
                bytes = default;
                return false;
            }

            bytes = file.GetSpan(offset, (int)length);
            return true;
        }
    }

    /// <summary>One mapped range; the pointer is released and the view unmapped on dispose.</summary>
    private sealed class MappedWindow : TensorWindow
    {
        private readonly MemoryMappedViewAccessor? _view;
        private readonly int _length;
        private byte* _pointer;

        public MappedWindow(MemoryMappedViewAccessor? view, int length = 0)
        {
            _view = view;
            _length = length;
            if (view is not null)
            {
                byte* p = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
                _pointer = p + view.PointerOffset;
            }
        }

        public override ReadOnlySpan<byte> Span =>
            _view is null ? ReadOnlySpan<byte>.Empty
            : _pointer != null ? new ReadOnlySpan<byte>(_pointer, _length)
            : throw new ObjectDisposedException(nameof(TensorWindow));

        protected override void Dispose(bool disposing)
        {
            if (_view is not null && _pointer != null)
            {
                _pointer = null;
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
                _view.Dispose();
            }
        }
    }
}
