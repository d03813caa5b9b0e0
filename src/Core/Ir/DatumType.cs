using System.Globalization;
using TorchToNnef.Tensors;

namespace TorchToNnef.Ir;

/// <summary>Storage kind of a graph value, as tract's <c>DatumType</c> without quantization parameters.</summary>
public enum DatumKind : byte
{
    /// <summary>Boolean.</summary>
    Bool,
    /// <summary>Unsigned 8-bit (also the storage of QU8).</summary>
    U8,
    /// <summary>Unsigned 16-bit.</summary>
    U16,
    /// <summary>Unsigned 32-bit.</summary>
    U32,
    /// <summary>Unsigned 64-bit.</summary>
    U64,
    /// <summary>Signed 8-bit (also the storage of QI8).</summary>
    I8,
    /// <summary>Signed 16-bit.</summary>
    I16,
    /// <summary>Signed 32-bit (also the storage of QI32).</summary>
    I32,
    /// <summary>Signed 64-bit.</summary>
    I64,
    /// <summary>IEEE binary16.</summary>
    F16,
    /// <summary>IEEE binary32.</summary>
    F32,
    /// <summary>IEEE binary64.</summary>
    F64,
    /// <summary>tract's symbolic dimension; with every symbol bound it is an i64.</summary>
    TDim,
    /// <summary>String.</summary>
    String,
    /// <summary>Block-quantized (Q4_0) constant, usable only by the operators that accept it.</summary>
    BlockQuant,
}

/// <summary>Affine quantization of a tensor: <c>real = (q - ZeroPoint) * Scale</c>.</summary>
/// <param name="ZeroPoint">Zero point.</param>
/// <param name="Scale">Scale (tract keeps it as f32).</param>
public readonly record struct QuantParams(int ZeroPoint, float Scale);

/// <summary>
/// Element type of a graph value, mirroring tract's <c>DatumType</c>: a storage kind plus, for QU8 / QI8 / QI32,
/// the quantization parameters carried by the type. Shape inference types every value with it and the evaluator's
/// tensors carry it.
/// </summary>
/// <param name="Kind">Storage kind.</param>
/// <param name="Quant">Quantization parameters, or null for plain types.</param>
public readonly record struct DatumType(DatumKind Kind, QuantParams? Quant = null)
{
    /// <summary>bool.</summary>
    public static readonly DatumType Bool = new(DatumKind.Bool);

    /// <summary>u8.</summary>
    public static readonly DatumType U8 = new(DatumKind.U8);

    /// <summary>i8.</summary>
    public static readonly DatumType I8 = new(DatumKind.I8);

    /// <summary>i32.</summary>
    public static readonly DatumType I32 = new(DatumKind.I32);

    /// <summary>i64.</summary>
    public static readonly DatumType I64 = new(DatumKind.I64);

    /// <summary>f16.</summary>
    public static readonly DatumType F16 = new(DatumKind.F16);

    /// <summary>f32.</summary>
    public static readonly DatumType F32 = new(DatumKind.F32);

    /// <summary>f64.</summary>
    public static readonly DatumType F64 = new(DatumKind.F64);

    /// <summary>TDim (symbolic dimension, evaluated as i64).</summary>
    public static readonly DatumType TDim = new(DatumKind.TDim);

    /// <summary>String.</summary>
    public static readonly DatumType String = new(DatumKind.String);

    /// <summary>Q4_0 block-quantized constant.</summary>
    public static readonly DatumType BlockQuant = new(DatumKind.BlockQuant);

    /// <summary>QU8 with the given parameters.</summary>
    public static DatumType QU8(int zeroPoint, float scale) => new(DatumKind.U8, new QuantParams(zeroPoint, scale));

    /// <summary>QI8 with the given parameters.</summary>
    public static DatumType QI8(int zeroPoint, float scale) => new(DatumKind.I8, new QuantParams(zeroPoint, scale));

    /// <summary>QI32 with the given parameters.</summary>
    public static DatumType QI32(int zeroPoint, float scale) => new(DatumKind.I32, new QuantParams(zeroPoint, scale));

    /// <summary>True for QU8, QI8 and QI32.</summary>
    public bool IsQuantized => Quant is not null;

    /// <summary>The same storage without quantization parameters.</summary>
    public DatumType Unquantized => new(Kind);

    /// <summary>True for f16, f32, f64.</summary>
    public bool IsFloat => !IsQuantized && Kind is DatumKind.F16 or DatumKind.F32 or DatumKind.F64;

    /// <summary>True for plain (unquantized) integers, not TDim nor bool.</summary>
    public bool IsInteger => !IsQuantized && Kind is >= DatumKind.U8 and <= DatumKind.I64;

    /// <summary>True for signed integer storage (i8..i64, QI8, QI32).</summary>
    public bool IsSigned => Kind is >= DatumKind.I8 and <= DatumKind.I64;

    /// <summary>True for numbers (integers, floats, TDim), quantized or not.</summary>
    public bool IsNumber => Kind is >= DatumKind.U8 and <= DatumKind.TDim;

    /// <summary>Zero point and scale; (0, 1) for plain types, as tract's <c>zp_scale</c>.</summary>
    public QuantParams ZpScale => Quant ?? new QuantParams(0, 1f);

    /// <summary>Size of one element in bytes as tract counts it (TDim 8).</summary>
    public int SizeOf => Kind switch
    {
        DatumKind.Bool or DatumKind.U8 or DatumKind.I8 => 1,
        DatumKind.U16 or DatumKind.I16 or DatumKind.F16 => 2,
        DatumKind.U32 or DatumKind.I32 or DatumKind.F32 => 4,
        DatumKind.U64 or DatumKind.I64 or DatumKind.F64 or DatumKind.TDim => 8,
        _ => 0,
    };

    /// <summary>Parses a type name as tract's <c>DatumType::from_str</c> does (<c>f32</c>, <c>F32</c>, <c>tdim</c>, <c>QU8(Z:1 S:0.5)</c>).</summary>
    public static bool TryParse(string text, out DatumType type)
    {
        type = default;
        if (TryParseQuantized(text, out type))
        {
            return true;
        }

        DatumKind? kind = text switch
        {
            "I8" or "i8" => DatumKind.I8,
            "I16" or "i16" => DatumKind.I16,
            "I32" or "i32" => DatumKind.I32,
            "I64" or "i64" => DatumKind.I64,
            "U8" or "u8" => DatumKind.U8,
            "U16" or "u16" => DatumKind.U16,
            "U32" or "u32" => DatumKind.U32,
            "U64" or "u64" => DatumKind.U64,
            "F16" or "f16" => DatumKind.F16,
            "F32" or "f32" => DatumKind.F32,
            "F64" or "f64" => DatumKind.F64,
            "Bool" or "bool" => DatumKind.Bool,
            "String" or "string" => DatumKind.String,
            "TDim" or "tdim" => DatumKind.TDim,
            _ => null,
        };
        if (kind is null)
        {
            return false;
        }

        type = new DatumType(kind.Value);
        return true;
    }

    /// <summary>
    /// The smallest type both operands widen to, as tract's <c>common_super_type</c>: floats widen within f16/f32/f64,
    /// signed integers within i8..i64 and TDim, unsigned within u8..u64; bool, string, TDim and quantized types only
    /// match themselves (TDim also absorbs signed integers). Null when there is none (e.g. f32 with TDim).
    /// </summary>
    public static DatumType? CommonSuperType(DatumType a, DatumType b)
    {
        if (a == b)
        {
            return a; // every type is the first of its own super types
        }

        foreach (DatumType mine in a.SuperTypes())
        {
            foreach (DatumType theirs in b.SuperTypes())
            {
                if (mine == theirs)
                {
                    return mine;
                }
            }
        }

        return null;
    }

    /// <summary>Converts a Core storage dtype (Q4_0 kinds map to <see cref="BlockQuant"/>).</summary>
    /// <exception cref="NotSupportedException">bf16, which tract has no type for.</exception>
    public static DatumType FromDType(DType dtype) => dtype switch
    {
        DType.F64 => F64,
        DType.F32 => F32,
        DType.F16 => F16,
        DType.I8 => I8,
        DType.U8 => U8,
        DType.I16 => new DatumType(DatumKind.I16),
        DType.U16 => new DatumType(DatumKind.U16),
        DType.I32 => I32,
        DType.U32 => new DatumType(DatumKind.U32),
        DType.I64 => I64,
        DType.U64 => new DatumType(DatumKind.U64),
        DType.Bool => Bool,
        DType.Q40 => BlockQuant,
        _ => throw new NotSupportedException($"{dtype.Name()} has no tract datum type."),
    };

    /// <summary>The Core storage dtype holding this type's raw values (TDim as i64, quantized types as their integers).</summary>
    /// <exception cref="NotSupportedException">String and block-quantized values.</exception>
    public DType ToStorageDType() => Kind switch
    {
        DatumKind.Bool => DType.Bool,
        DatumKind.U8 => DType.U8,
        DatumKind.U16 => DType.U16,
        DatumKind.U32 => DType.U32,
        DatumKind.U64 => DType.U64,
        DatumKind.I8 => DType.I8,
        DatumKind.I16 => DType.I16,
        DatumKind.I32 => DType.I32,
        DatumKind.I64 or DatumKind.TDim => DType.I64,
        DatumKind.F16 => DType.F16,
        DatumKind.F32 => DType.F32,
        DatumKind.F64 => DType.F64,
        _ => throw new NotSupportedException($"{this} values have no storage dtype."),
    };

    /// <summary>Formats as tract does: <c>F32</c>, <c>TDim</c>, <c>QU8(Z:131 S:0.017354928)</c>.</summary>
    public override string ToString()
    {
        string name = Kind switch
        {
            DatumKind.Bool => "Bool",
            DatumKind.TDim => "TDim",
            DatumKind.String => "String",
            DatumKind.BlockQuant => "Q4_0",
            _ => Kind.ToString(),
        };
        if (Quant is QuantParams q)
        {
            string prefix = Kind switch { DatumKind.U8 => "QU8", DatumKind.I8 => "QI8", _ => "QI32" };
            return string.Create(CultureInfo.InvariantCulture, $"{prefix}(Z:{q.ZeroPoint} S:{q.Scale:R})");
        }

        return name;
    }

    private IEnumerable<DatumType> SuperTypes()
    {
        if (IsQuantized || Kind is DatumKind.Bool or DatumKind.String or DatumKind.TDim or DatumKind.BlockQuant)
        {
            return [this];
        }

        int size = SizeOf;
        DatumKind[] chain = Kind switch
        {
            DatumKind.F16 or DatumKind.F32 or DatumKind.F64 => [DatumKind.F16, DatumKind.F32, DatumKind.F64],
            DatumKind.I8 or DatumKind.I16 or DatumKind.I32 or DatumKind.I64 =>
                [DatumKind.I8, DatumKind.I16, DatumKind.I32, DatumKind.I64, DatumKind.TDim],
            _ => [DatumKind.U8, DatumKind.U16, DatumKind.U32, DatumKind.U64],
        };
        return chain.Select(k => new DatumType(k)).Where(t => t.SizeOf >= size);
    }

    private static bool TryParseQuantized(string text, out DatumType type)
    {
        type = default;
        int open = text.IndexOf('(', StringComparison.Ordinal);
        if (open < 0 || !text.EndsWith(')'))
        {
            return false;
        }

        string prefix = text[..open];
        string[] parts = text[(open + 1)..^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !parts[0].StartsWith("Z:", StringComparison.Ordinal) || !parts[1].StartsWith("S:", StringComparison.Ordinal)
            || !int.TryParse(parts[0].AsSpan(2), NumberStyles.Integer, CultureInfo.InvariantCulture, out int zp)
            || !float.TryParse(parts[1].AsSpan(2), NumberStyles.Float, CultureInfo.InvariantCulture, out float scale))
        {
            return false;
        }

        DatumKind? kind = prefix switch { "QU8" => DatumKind.U8, "QI8" => DatumKind.I8, "QI32" => DatumKind.I32, _ => null };
        if (kind is null)
        {
            return false;
        }

        type = new DatumType(kind.Value, new QuantParams(zp, scale));
        return true;
    }
}
