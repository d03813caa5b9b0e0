using System.Buffers;
using System.Runtime.InteropServices;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Model;

/// <summary>
/// A quantized tensor as torch_to_nnef models it: a u8 code blob (one code per value, then transformed by an
/// ordered list of lossless <see cref="IU8Compressor"/>s, e.g. the nibble packer), the scheme that maps codes back to
/// values (<see cref="QScalePerGroupF16"/>), and the float dtype it stands for. It never keeps a float copy: values
/// are produced on demand by <see cref="Decompress"/>, a window at a time.
/// </summary>
public sealed class QTensor
{
    private const int WindowGroups = 4096;
    private readonly byte[] _blob;
    private readonly IU8Compressor[] _compressors;

    // Length of the data fed to each compressor (stage 0 is one code per value), recorded when compressing.
    private readonly int[] _stageLengths;

    private QTensor(Shape shape, DType dequantDType, QScalePerGroupF16 scheme, byte[] blob, IU8Compressor[] compressors, int[] stageLengths)
    {
        _stageLengths = stageLengths;
        Shape = shape;
        DequantDType = dequantDType;
        Scheme = scheme;
        _blob = blob;
        _compressors = compressors;
    }

    /// <summary>Logical shape.</summary>
    public Shape Shape { get; }

    /// <summary>The float dtype <see cref="Decompress"/> produces (the dtype of the original weight).</summary>
    public DType DequantDType { get; }

    /// <summary>Scales and code width.</summary>
    public QScalePerGroupF16 Scheme { get; }

    /// <summary>Compressors applied to the codes, in the order they were applied.</summary>
    public IReadOnlyList<IU8Compressor> Compressors => _compressors;

    /// <summary>The stored (compressed) code blob.</summary>
    public ReadOnlySpan<byte> Blob => _blob;

    /// <summary>
    /// Builds a quantized tensor from one code per value, applying <paramref name="compressors"/> in order
    /// (the nibble packer in the GGML order when null).
    /// </summary>
    /// <exception cref="ArgumentException">Counts that do not match the shape and scheme, or a non-float dtype.</exception>
    public static QTensor FromCodes(Shape shape, DType dequantDType, QScalePerGroupF16 scheme, ReadOnlySpan<byte> codes, IReadOnlyList<IU8Compressor>? compressors = null)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        if (dequantDType is not (DType.F32 or DType.F16 or DType.BF16))
        {
            throw new ArgumentException($"A quantized tensor stands for f32, f16 or bf16 values, not {dequantDType.Name()}.", nameof(dequantDType));
        }

        if (codes.Length != shape.ElementCount || shape.ElementCount != (long)scheme.GroupCount * scheme.GroupSize)
        {
            throw new ArgumentException($"Shape {shape} needs {shape.ElementCount} codes in groups of {scheme.GroupSize}; got {codes.Length} codes and {scheme.GroupCount} scales.", nameof(codes));
        }

        IU8Compressor[] chain = compressors?.ToArray() ?? [NibblePacker.Ggml];
        byte[] blob = codes.ToArray();
        var lengths = new int[chain.Length];
        for (int i = 0; i < chain.Length; i++)
        {
            lengths[i] = blob.Length;
            blob = chain[i].Compress(blob);
        }

        return new QTensor(shape, dequantDType, scheme, blob, chain, lengths);
    }

    /// <summary>
    /// Splits a tract Q4_0 tensor (<see cref="DType.Q40"/>) into scales and nibble-packed codes (kept as they are,
    /// so nothing is repacked).
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is not Q4_0.</exception>
    public static QTensor FromBlocks(Tensor blocks, DType dequantDType = DType.F32)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.DType != DType.Q40)
        {
            throw new ArgumentException($"{blocks} is not a Q4_0 tensor.", nameof(blocks));
        }

        long groups = blocks.ElementCount / Q40Format.GroupSize;
        var scales = new ushort[groups];
        var packed = new byte[checked(groups * Q40Format.CodeBytes)];
        byte[] window = ArrayPool<byte>.Shared.Rent(WindowGroups * Q40Format.BlockBytes);
        try
        {
            for (long g0 = 0; g0 < groups; g0 += WindowGroups)
            {
                int n = (int)Math.Min(WindowGroups, groups - g0);
                blocks.Data.Read(g0 * Q40Format.BlockBytes, window.AsSpan(0, n * Q40Format.BlockBytes));
                for (int g = 0; g < n; g++)
                {
                    ReadOnlySpan<byte> block = window.AsSpan(g * Q40Format.BlockBytes, Q40Format.BlockBytes);
                    scales[g0 + g] = Q40Reference.ScaleOf(block);
                    block.Slice(2, Q40Format.CodeBytes).CopyTo(packed.AsSpan((int)((g0 + g) * Q40Format.CodeBytes), Q40Format.CodeBytes));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(window);
        }

        return new QTensor(
            blocks.Shape, dequantDType, new QScalePerGroupF16(scales), packed, [NibblePacker.Ggml], [checked((int)blocks.ElementCount)]);
    }

    /// <summary>
    /// Quantizes a float tensor with a calibration (min-max when null), like torch_to_nnef's
    /// <c>fp_to_tract_q4_0_with_min_max_calibration</c>; it decompresses to the source dtype.
    /// </summary>
    /// <exception cref="Errors.ImpossibleQuantizationException">The tensor is not eligible.</exception>
    public static QTensor Quantize(Tensor source, Q40Calibration? calibration = null, string? tensorName = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        using Tensor blocks = Q40Quantizer.Quantize(source, tensorName, calibration);
        return FromBlocks(blocks, source.DType);
    }

    /// <summary>The codes, one byte per value, with every compressor undone in reverse order.</summary>
    public byte[] DecompressToU8()
    {
        byte[] data = _blob;
        for (int i = _compressors.Length - 1; i >= 0; i--)
        {
            var output = new byte[_stageLengths[i]];
            _compressors[i].Decompress(data, output);
            data = output;
        }

        return data == _blob ? (byte[])_blob.Clone() : data;
    }

    /// <summary>
    /// Dequantizes into a new owned tensor of <see cref="DequantDType"/> with torch_to_nnef's arithmetic for that
    /// dtype (f32 exact, f16/bf16 products rounded), a window of groups at a time.
    /// </summary>
    public Tensor Decompress()
    {
        RequireQ40Scheme();
        byte[]? codes = IsPlainNibbles() ? null : DecompressToU8();
        OwnedTensorData data = OwnedTensorData.Allocate(DequantDType.ByteSize(Shape.ElementCount), clear: false);
        try
        {
            int es = DequantDType.ElementSize();
            byte[] window = ArrayPool<byte>.Shared.Rent(WindowGroups * Q40Format.BlockBytes);
            try
            {
                for (long g0 = 0; g0 < Scheme.GroupCount; g0 += WindowGroups)
                {
                    int n = (int)Math.Min(WindowGroups, Scheme.GroupCount - g0);
                    Span<byte> blocks = window.AsSpan(0, n * Q40Format.BlockBytes);
                    FillBlocks(g0, n, codes, blocks);
                    Span<byte> dst = data.Span.Slice((int)(g0 * Q40Format.GroupSize * es), n * Q40Format.GroupSize * es);
                    switch (DequantDType)
                    {
                        case DType.F32:
                            Q40Dequantizer.ToSingle(blocks, MemoryMarshal.Cast<byte, float>(dst));
                            break;
                        case DType.F16:
                            Q40Dequantizer.ToHalf(blocks, MemoryMarshal.Cast<byte, Half>(dst));
                            break;
                        default:
                            Q40Dequantizer.ToBFloat16(blocks, MemoryMarshal.Cast<byte, ushort>(dst));
                            break;
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(window);
            }

            return new Tensor(DequantDType, Shape, data);
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    /// <summary>The tract Q4_0 tensor: per group, the f16 scale then 16 bytes of nibbles (GGML order).</summary>
    public Tensor ToBlocks()
    {
        RequireQ40Scheme();
        byte[] codes = DecompressToU8();
        OwnedTensorData data = OwnedTensorData.Allocate(DType.Q40.ByteSize(Shape.ElementCount), clear: false);
        Span<byte> dst = data.Span;
        for (int g = 0; g < Scheme.GroupCount; g++)
        {
            Q40Reference.WriteBlock(
                Scheme.ScaleBits[g],
                codes.AsSpan(g * Q40Format.GroupSize, Q40Format.GroupSize),
                dst.Slice(g * Q40Format.BlockBytes, Q40Format.BlockBytes));
        }

        return new Tensor(DType.Q40, Shape, data);
    }

    private bool IsPlainNibbles() => _compressors.Length == 1 && _compressors[0] is NibblePacker;

    private void RequireQ40Scheme()
    {
        if (Scheme.GroupSize != Q40Format.GroupSize || Scheme.Bits != Q40Format.CodeBits)
        {
            throw new NotSupportedException($"Only groups of {Q40Format.GroupSize} 4-bit codes map to tract Q4_0 (this scheme: {Scheme.GroupSize} x {Scheme.Bits} bits).");
        }
    }

    // Builds n blocks starting at group g0: the stored nibbles as they are when the blob is plain nibbles.
    private void FillBlocks(long g0, int n, byte[]? codes, Span<byte> blocks)
    {
        for (int g = 0; g < n; g++)
        {
            Span<byte> block = blocks.Slice(g * Q40Format.BlockBytes, Q40Format.BlockBytes);
            ushort scale = Scheme.ScaleBits[(int)(g0 + g)];
            if (codes is null)
            {
                block[0] = (byte)scale;
                block[1] = (byte)(scale >> 8);
                _blob.AsSpan((int)((g0 + g) * Q40Format.CodeBytes), Q40Format.CodeBytes).CopyTo(block[2..]);
            }
            else
            {
                Q40Reference.WriteBlock(scale, codes.AsSpan((int)((g0 + g) * Q40Format.GroupSize), Q40Format.GroupSize), block);
            }
        }
    }
}
