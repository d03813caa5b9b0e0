using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TorchToNnef.Formats.Checksums;

/// <summary>CRC-32 by slice-by-8 tables (8 KiB, derived from the polynomial): the path for short inputs and plain CPUs.</summary>
internal static class GzipCrc32Scalar
{
    private static readonly uint[] Tables = GzipCrc32Polynomial.SliceBy8Tables();

    /// <summary>Advances the CRC register <paramref name="state"/> (before the final XOR) over <paramref name="data"/>.</summary>
    internal static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        // Every index below is a byte plus a multiple of 256 below 2048, inside the 2048-entry table.
        ref uint t = ref MemoryMarshal.GetArrayDataReference(Tables);
        while (data.Length >= 8)
        {
            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(data) ^ state;
            state = Unsafe.Add(ref t, (7 * 256) + (int)(v & 0xFF))
                ^ Unsafe.Add(ref t, (6 * 256) + (int)((v >> 8) & 0xFF))
                ^ Unsafe.Add(ref t, (5 * 256) + (int)((v >> 16) & 0xFF))
                ^ Unsafe.Add(ref t, (4 * 256) + (int)((v >> 24) & 0xFF))
                ^ Unsafe.Add(ref t, (3 * 256) + (int)((v >> 32) & 0xFF))
                ^ Unsafe.Add(ref t, (2 * 256) + (int)((v >> 40) & 0xFF))
                ^ Unsafe.Add(ref t, 256 + (int)((v >> 48) & 0xFF))
                ^ Unsafe.Add(ref t, (int)(v >> 56));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            state = Unsafe.Add(ref t, (int)((state ^ b) & 0xFF)) ^ (state >> 8);
        }

        return state;
    }
}
