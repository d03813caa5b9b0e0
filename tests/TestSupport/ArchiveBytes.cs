using System.IO.Compression;
using System.Text;

namespace TorchToNnef.TestSupport;

/// <summary>
/// Hand-made tar and gzip bytes for hostile-input tests: member headers that declare any size (true or not), and
/// gzip streams that expand to gigabytes of zeros while taking a few megabytes (a decompression bomb), written in
/// milliseconds by repeating one compressed gzip member (a gzip file may hold several members, read one after another).
/// </summary>
public static class ArchiveBytes
{
    /// <summary>Size of a tar block.</summary>
    public const int Block = 512;

    private const int ZeroChunk = 64 << 20;

    private static readonly Lazy<byte[]> CompressedZeroChunk = new(() => Gzip(new byte[ZeroChunk]));

    /// <summary>A ustar header for a regular file (or <paramref name="type"/>) declaring <paramref name="size"/> bytes.</summary>
    public static byte[] TarHeader(string name, long size, char type = '0')
    {
        byte[] h = new byte[Block];
        Put(h, 0, name);
        Put(h, 100, "0000644");
        Put(h, 108, "0000000");
        Put(h, 116, "0000000");
        Put(h, 124, Convert.ToString(size, 8).PadLeft(11, '0'));
        Put(h, 136, "00000000000");
        h[156] = (byte)type;
        Put(h, 257, "ustar");
        h[263] = (byte)'0';
        h[264] = (byte)'0';
        h.AsSpan(148, 8).Fill((byte)' ');
        int sum = h.Sum(b => b);
        Put(h, 148, Convert.ToString(sum, 8).PadLeft(6, '0'));
        h[154] = 0;
        return h;
    }

    /// <summary>Zeros that pad <paramref name="size"/> bytes of member data to a whole block.</summary>
    public static byte[] Padding(long size) => new byte[(Block - (int)(size % Block)) % Block];

    /// <summary>A complete member: header, data, padding.</summary>
    public static byte[] TarMember(string name, byte[] data) => [.. TarHeader(name, data.Length), .. data, .. Padding(data.Length)];

    /// <summary>A member holding UTF-8 text.</summary>
    public static byte[] TarMember(string name, string text) => TarMember(name, Encoding.UTF8.GetBytes(text));

    /// <summary>The two zero blocks that end a tar archive.</summary>
    public static byte[] TarEnd => new byte[2 * Block];

    /// <summary>One gzip member holding <paramref name="data"/>.</summary>
    public static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gz.Write(data);
        }

        return ms.ToArray();
    }

    /// <summary>
    /// Writes a gzip file that decompresses to <paramref name="prefix"/>, then <paramref name="zeros"/> zero bytes, then
    /// <paramref name="suffix"/> (a multiple of 64 MiB of zeros costs about 64 KiB).
    /// </summary>
    public static void WriteGzipWithZeros(string path, byte[] prefix, long zeros, byte[] suffix)
    {
        using FileStream f = File.Create(path);
        f.Write(Gzip(prefix));
        byte[] chunk = CompressedZeroChunk.Value;
        for (; zeros >= ZeroChunk; zeros -= ZeroChunk)
        {
            f.Write(chunk);
        }

        f.Write(Gzip([.. new byte[zeros], .. suffix]));
    }

    private static void Put(byte[] header, int offset, string value) => Encoding.ASCII.GetBytes(value).CopyTo(header, offset);
}
