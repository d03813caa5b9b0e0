namespace TorchToNnef.Tensors;

/// <summary>
/// Element type of a tensor. Element dtypes have a fixed byte size; the block-quantized <see cref="Q40"/> stores
/// groups of elements that are not individually addressable.
/// </summary>
public enum DType : byte
{
    /// <summary>IEEE 754 binary64.</summary>
    F64,
    /// <summary>IEEE 754 binary32.</summary>
    F32,
    /// <summary>IEEE 754 binary16.</summary>
    F16,
    /// <summary>bfloat16: the upper 16 bits of a binary32.</summary>
    BF16,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Unsigned 16-bit integer.</summary>
    U16,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Unsigned 32-bit integer.</summary>
    U32,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>Unsigned 64-bit integer.</summary>
    U64,
    /// <summary>Boolean, one byte per element (0 = false, anything else = true).</summary>
    Bool,
    /// <summary>
    /// tract Q4_0 blocks, the one in-memory form: per group of 32 elements, an f16 scale then 16 bytes in the GGML
    /// nibble order, byte j = code[j] | code[j+16] &lt;&lt; 4. (The legacy order tract &lt;= 0.21.10 reads is only a
    /// <c>.dat</c> encoding, converted when such a file is read or written.)
    /// </summary>
    Q40,
}
