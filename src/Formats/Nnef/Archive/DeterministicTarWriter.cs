using System.Globalization;
using System.Text;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// Writes a POSIX tar stream with fixed metadata so that the same members give the same bytes: regular files only,
/// mode 0644, uid/gid 0, empty owner names, mtime 0. Paths that do not fit the ustar name/prefix fields (or are not
/// ASCII) get a PAX extended header, as Python's <c>tarfile</c> does. The archive ends with two zero blocks and is
/// padded to a 10 KiB record like GNU and Python tar.
/// </summary>
internal sealed class DeterministicTarWriter
{
    private const int Block = 512;
    private const int Record = 20 * Block;
    private const long MaxOctalSize = 077777777777L;

    private readonly Stream _out;
    private long _written;
    private long _memberSize;

    public DeterministicTarWriter(Stream output)
    {
        _out = output;
    }

    /// <summary>Writes a member header; the caller then writes exactly <paramref name="size"/> bytes and calls <see cref="EndMember"/>.</summary>
    public void BeginMember(string path, long size)
    {
        byte[] name = Encoding.UTF8.GetBytes(path);
        bool ascii = name.All(b => b is >= 0x20 and < 0x7f);
        (string? prefix, string? shortName) = ascii ? SplitUstar(path) : (null, null);
        if (shortName is null || size > MaxOctalSize)
        {
            var pax = new StringBuilder();
            if (shortName is null)
            {
                pax.Append(PaxRecord("path", path));
            }

            if (size > MaxOctalSize)
            {
                pax.Append(PaxRecord("size", size.ToString(CultureInfo.InvariantCulture)));
            }

            byte[] records = Encoding.UTF8.GetBytes(pax.ToString());
            WriteHeader(PaxPlaceholderName(path), null, records.Length, (byte)'x');
            Write(records);
            Pad(records.Length);
            (prefix, shortName) = (null, PaxPlaceholderName(path));
        }

        WriteHeader(shortName, prefix, Math.Min(size, MaxOctalSize), (byte)'0');
        _memberSize = size;
    }

    /// <summary>Writes member data (counted, so the padding after it is right).</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        _out.Write(data);
        _written += data.Length;
    }

    /// <summary>Writes member data from an array, passed on as an array (a stored gzip frames large ones in place).</summary>
    public void Write(byte[] data, int offset, int count)
    {
        _out.Write(data, offset, count);
        _written += count;
    }

    /// <summary>Flushes the underlying stream.</summary>
    public void Flush() => _out.Flush();

    /// <summary>Pads the member's data to a block boundary.</summary>
    public void EndMember() => Pad(_memberSize);

    /// <summary>Writes the end-of-archive blocks and pads to a whole record.</summary>
    public void Finish()
    {
        Write(new byte[2 * Block]);
        long rest = _written % Record;
        if (rest != 0)
        {
            Write(new byte[Record - rest]);
        }
    }

    private void Pad(long size)
    {
        long rest = size % Block;
        if (rest != 0)
        {
            Write(new byte[Block - rest]);
        }
    }

    private void WriteHeader(string name, string? prefix, long size, byte type)
    {
        byte[] h = new byte[Block];
        Put(h, 0, 100, name);
        Put(h, 100, 8, "0000644");
        Put(h, 108, 8, "0000000");
        Put(h, 116, 8, "0000000");
        Put(h, 124, 12, Convert.ToString(size, 8).PadLeft(11, '0'));
        Put(h, 136, 12, "00000000000");
        h[156] = type;
        Put(h, 257, 6, "ustar");
        h[263] = (byte)'0';
        h[264] = (byte)'0';
        Put(h, 329, 8, "0000000");
        Put(h, 337, 8, "0000000");
        if (prefix is not null)
        {
            Put(h, 345, 155, prefix);
        }

        // Checksum: sum of all header bytes with the checksum field counted as spaces; 6 octal digits, NUL, space.
        h.AsSpan(148, 8).Fill((byte)' ');
        int sum = h.Sum(b => b);
        Put(h, 148, 7, Convert.ToString(sum, 8).PadLeft(6, '0'));
        h[155] = (byte)' ';
        Write(h);
    }

    private static void Put(byte[] header, int offset, int length, string value)
    {
        byte[] b = Encoding.ASCII.GetBytes(value);
        if (b.Length > length)
        {
            throw new InvalidOperationException($"tar field of {length} bytes cannot hold '{value}'");
        }

        b.CopyTo(header, offset);
    }

    /// <summary>Splits a path into ustar prefix (&lt;= 155) and name (&lt;= 100) at a slash; (null, null) if impossible.</summary>
    private static (string? Prefix, string? Name) SplitUstar(string path)
    {
        if (path.Length <= 100)
        {
            return (null, path);
        }

        for (int i = path.IndexOf('/', StringComparison.Ordinal); i >= 0; i = path.IndexOf('/', i + 1))
        {
            if (i <= 155 && path.Length - i - 1 <= 100 && path.Length - i - 1 > 0)
            {
                return (path[..i], path[(i + 1)..]);
            }
        }

        return (null, null);
    }

    private static string PaxPlaceholderName(string path)
    {
        // Readers that ignore PAX see a stable ASCII stand-in; readers that honour it use the real path.
        string ascii = new([.. path.Select(c => c is >= ' ' and < (char)0x7f ? c : '_')]);
        return ascii.Length <= 100 ? ascii : ascii[^100..];
    }

    /// <summary>"<c>len key=value\n</c>" where len counts the whole record including its own digits.</summary>
    private static string PaxRecord(string key, string value)
    {
        int body = Encoding.UTF8.GetByteCount($" {key}={value}\n");
        int len = body + body.ToString(CultureInfo.InvariantCulture).Length;
        if (len.ToString(CultureInfo.InvariantCulture).Length != (len - body))
        {
            len++;
        }

        return $"{len.ToString(CultureInfo.InvariantCulture)} {key}={value}\n";
    }
}
