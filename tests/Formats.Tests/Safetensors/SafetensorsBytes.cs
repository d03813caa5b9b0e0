using System.Buffers.Binary;
using System.Text;

namespace TorchToNnef.Formats.Tests.Safetensors;

/// <summary>Builds safetensors files byte by byte, independently of our writer, for reader tests.</summary>
internal static class SafetensorsBytes
{
    /// <summary>u64 LE header length, the header (padded with spaces to a multiple of 8 when asked), then the data.</summary>
    public static byte[] Build(string header, ReadOnlySpan<byte> data, bool pad = true) =>
        Build(Encoding.UTF8.GetBytes(header), data, pad);

    /// <inheritdoc cref="Build(string, ReadOnlySpan{byte}, bool)"/>
    public static byte[] Build(byte[] header, ReadOnlySpan<byte> data, bool pad = true)
    {
        int padding = pad ? (8 - header.Length % 8) % 8 : 0;
        var bytes = new byte[8 + header.Length + padding + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(header.Length + padding));
        header.CopyTo(bytes, 8);
        bytes.AsSpan(8 + header.Length, padding).Fill((byte)' ');
        data.CopyTo(bytes.AsSpan(8 + header.Length + padding));
        return bytes;
    }

    /// <summary>A header entry in the standard field order.</summary>
    public static string Entry(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    /// <summary><paramref name="n"/> bytes 0, 1, 2, ... (mod 256).</summary>
    public static byte[] Ramp(int n)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++)
        {
            b[i] = (byte)i;
        }

        return b;
    }
}
