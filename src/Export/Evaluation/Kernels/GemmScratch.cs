using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// Per-thread packing buffers of the matrix kernels: pinned, 64-byte aligned (a 512-bit load never straddles two cache
/// lines), grown on demand and kept for the thread's life, so a product allocates nothing once warm.
/// </summary>
internal sealed class GemmScratch
{
    /// <summary>Packed panels of B.</summary>
    public const int PackedB = 0;

    /// <summary>Packed panels of A.</summary>
    public const int PackedA = 1;

    /// <summary>An operand converted to f32 before packing (f16, Q4_0 or general strides).</summary>
    public const int Converted = 2;

    /// <summary>Small per-call results (edge tiles, partial Q4_0 panels, a row of A).</summary>
    public const int Small = 3;

    /// <summary>One decoded Q4_0 (panel, block).</summary>
    public const int Decoded = 4;

    [ThreadStatic]
    private static GemmScratch? _current;

    private readonly float[]?[] _arrays = new float[5][];
    private readonly int[] _starts = new int[5];

    /// <summary>This thread's buffers.</summary>
    public static GemmScratch Current => _current ??= new GemmScratch();

    /// <summary>An aligned span of at least <paramref name="length"/> floats in slot <paramref name="slot"/> (contents unspecified).</summary>
    public unsafe Span<float> Get(int slot, int length)
    {
        float[]? array = _arrays[slot];
        if (array is null || array.Length - _starts[slot] < length)
        {
            array = GC.AllocateUninitializedArray<float>(Math.Max(length, 1024) + 16, pinned: true);
            _arrays[slot] = array;
            _starts[slot] = (int)(((64 - ((nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)) & 63)) & 63) / sizeof(float));
        }

        return array.AsSpan(_starts[slot], length);
    }
}
