using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Numpy;

/// <summary>
/// The header of a <c>.npy</c> file: magic <c>\x93NUMPY</c>, version (1.0: u16 length; 2.0 and 3.0: u32 length;
/// 3.0 encodes the dict in UTF-8 instead of latin-1), then a Python dict literal with exactly the keys
/// <c>descr</c>, <c>fortran_order</c> and <c>shape</c>. The dict is parsed by hand (a tiny grammar: strings,
/// <c>True</c>/<c>False</c>, tuples of integers), never evaluated.
/// </summary>
internal static class NpyHeader
{
    /// <summary>Headers longer than this are rejected (numpy itself refuses more than 10 000 bytes by default).</summary>
    public const int MaxHeaderLength = 1 << 20;

    // numpy aligns the data to 64 bytes and leaves room for the first axis to grow to 21 digits.
    private const int ArrayAlign = 64;
    private const int GrowthAxisMaxDigits = 21;

    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads and validates a header from <paramref name="stream"/>, leaving it at the first data byte.</summary>
    public static (DType DType, Shape Shape) Read(Stream stream, string? file, string? tensor)
    {
        Span<byte> prefix = stackalloc byte[12];
        int got = stream.ReadAtLeast(prefix[..8], 8, throwOnEndOfStream: false);
        if (got < 8 || !prefix[..6].SequenceEqual(Magic))
        {
            // A short stream may end inside the magic or just after it (7 bytes): compare only what both hold.
            int compared = Math.Min(got, Magic.Length);
            throw new InvalidInputFileException(file, tensor, got < 8 && prefix[..compared].SequenceEqual(Magic[..compared])
                ? $"truncated .npy header ({got} bytes)"
                : "not a .npy file (bad magic)");
        }

        byte major = prefix[6], minor = prefix[7];
        if (major is < 1 or > 3 || minor != 0)
        {
            throw new UnsupportedFeatureException(file, tensor, $".npy format version {major}.{minor} is not supported (1.0, 2.0, 3.0)");
        }

        int lengthBytes = major == 1 ? 2 : 4;
        if (stream.ReadAtLeast(prefix.Slice(8, lengthBytes), lengthBytes, throwOnEndOfStream: false) < lengthBytes)
        {
            throw new InvalidInputFileException(file, tensor, "truncated .npy header length");
        }

        long length = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
        if (length > MaxHeaderLength)
        {
            throw new InvalidInputFileException(file, tensor, $".npy header length {length} exceeds the {MaxHeaderLength}-byte limit");
        }

        byte[] header = new byte[length];
        int n = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (n < header.Length)
        {
            throw new InvalidInputFileException(file, tensor, $"truncated .npy header: {n} of {length} bytes");
        }

        string text;
        try
        {
            text = major == 3 ? new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(header) : Encoding.Latin1.GetString(header);
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidInputFileException(file, tensor, ".npy 3.0 header is not valid UTF-8");
        }

        return Parse(text, file, tensor);
    }

    /// <summary>The complete header numpy writes for an array (format 1.0, or 2.0 when it does not fit).</summary>
    public static byte[] Format(string descr, Shape shape)
    {
        // Same text and padding as numpy's header_data_from_array_1_0 + _wrap_header, so files are byte-identical.
        string shapeText = shape.Rank switch
        {
            0 => "()",
            1 => $"({shape[0]},)",
            _ => "(" + string.Join(", ", shape.ToArray()) + ")",
        };
        var dict = new StringBuilder("{'descr': '").Append(descr).Append("', 'fortran_order': False, 'shape': ").Append(shapeText).Append(", }");
        if (shape.Rank > 0)
        {
            dict.Append(' ', Math.Max(0, GrowthAxisMaxDigits - shape[0].ToString(CultureInfo.InvariantCulture).Length));
        }

        // Version 1.0 unless its u16 length field cannot hold the padded dict.
        int textLength = dict.Length + 1; // + '\n'
        int major = textLength + Padding(10, textLength) <= ushort.MaxValue ? 1 : 2;
        int prefixLength = major == 1 ? 10 : 12;
        int padding = Padding(prefixLength, textLength);
        dict.Append(' ', padding).Append('\n');
        byte[] bytes = new byte[prefixLength + dict.Length];
        Magic.CopyTo(bytes);
        bytes[6] = (byte)major;
        if (major == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)dict.Length);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)dict.Length);
        }

        Encoding.Latin1.GetBytes(dict.ToString(), bytes.AsSpan(prefixLength));
        return bytes;
    }

    // numpy pads so that magic + version + length + dict is a multiple of 64, adding a full 64 when already aligned.
    private static int Padding(int prefixLength, int textLength) => ArrayAlign - ((prefixLength + textLength) % ArrayAlign);

    private static (DType, Shape) Parse(string text, string? file, string? tensor)
    {
        var p = new DictParser(text, file, tensor);
        string? descr = null;
        bool? fortran = null;
        long[]? dims = null;
        p.Expect('{');
        while (!p.TryConsume('}'))
        {
            string key = p.ReadString();
            p.Expect(':');
            switch (key)
            {
                case "descr" when descr is null:
                    if (p.TryConsume('['))
                    {
                        throw new UnsupportedFeatureException(file, tensor, "structured (record) dtypes are not supported");
                    }

                    descr = p.ReadString();
                    break;
                case "fortran_order" when fortran is null:
                    fortran = p.ReadBool();
                    break;
                case "shape" when dims is null:
                    dims = p.ReadIntTuple();
                    break;
                case "descr" or "fortran_order" or "shape":
                    throw p.Fail($"duplicate key '{key}'");
                default:
                    throw p.Fail($"unexpected key '{key}' (expected descr, fortran_order, shape)");
            }

            if (!p.TryConsume(','))
            {
                p.Expect('}');
                break;
            }
        }

        p.ExpectEnd();
        if (descr is null || fortran is null || dims is null)
        {
            throw p.Fail($"missing key '{(descr is null ? "descr" : fortran is null ? "fortran_order" : "shape")}'");
        }

        if (fortran.Value)
        {
            throw new UnsupportedFeatureException(file, tensor, "Fortran-order (column-major) arrays are not supported");
        }

        DType? dtype = NpyDTypes.TryParse(descr, out string? why);
        if (dtype is null)
        {
            throw new UnsupportedFeatureException(file, tensor, why!);
        }

        if (dims.Length > Shape.MaxRank)
        {
            throw new UnsupportedFeatureException(file, tensor, $"rank {dims.Length} is above {Shape.MaxRank}");
        }

        if (!Shape.TryCreate(dims, out Shape shape, out string? error))
        {
            throw p.Fail($"invalid shape ({string.Join(", ", dims)}): {error}");
        }

        return (dtype.Value, shape);
    }

    /// <summary>Cursor over the dict text; every failure names the offending offset.</summary>
    private ref struct DictParser(string text, string? file, string? tensor)
    {
        private int _pos;

        public void Expect(char c)
        {
            if (!TryConsume(c))
            {
                throw Fail($"expected '{c}'");
            }
        }

        public bool TryConsume(char c)
        {
            SkipSpace();
            if (_pos < text.Length && text[_pos] == c)
            {
                _pos++;
                return true;
            }

            return false;
        }

        public string ReadString()
        {
            SkipSpace();
            char quote = _pos < text.Length ? text[_pos] : '\0';
            if (quote is not ('\'' or '"'))
            {
                throw Fail("expected a quoted string");
            }

            int end = text.IndexOf(quote, _pos + 1);
            if (end < 0 || text.AsSpan(_pos + 1, end - _pos - 1).Contains('\\'))
            {
                throw Fail("unterminated or escaped string");
            }

            string s = text[(_pos + 1)..end];
            _pos = end + 1;
            return s;
        }

        public bool ReadBool()
        {
            SkipSpace();
            if (text.AsSpan(_pos).StartsWith("True", StringComparison.Ordinal))
            {
                _pos += 4;
                return true;
            }

            if (text.AsSpan(_pos).StartsWith("False", StringComparison.Ordinal))
            {
                _pos += 5;
                return false;
            }

            throw Fail("expected True or False");
        }

        public long[] ReadIntTuple()
        {
            Expect('(');
            var dims = new List<long>();
            bool trailingComma = false;
            while (!TryConsume(')'))
            {
                if (dims.Count > Shape.MaxRank)
                {
                    throw Fail($"shape has more than {Shape.MaxRank} dimensions");
                }

                dims.Add(ReadInt());
                trailingComma = TryConsume(',');
                if (!trailingComma)
                {
                    Expect(')');
                    break;
                }
            }

            // "(3)" is the integer 3 in Python, not a tuple.
            if (dims.Count == 1 && !trailingComma)
            {
                throw Fail("shape '(n)' is not a tuple; numpy writes '(n,)'");
            }

            return [.. dims];
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (_pos != text.Length)
            {
                throw Fail("unexpected text after the header dict");
            }
        }

        public readonly InvalidInputFileException Fail(string what) =>
            new(file, tensor, $"bad .npy header at offset {_pos}: {what} in \"{Excerpt()}\"");

        private long ReadInt()
        {
            SkipSpace();
            int start = _pos;
            if (_pos < text.Length && text[_pos] == '-')
            {
                _pos++;
            }

            while (_pos < text.Length && char.IsAsciiDigit(text[_pos]))
            {
                _pos++;
            }

            ReadOnlySpan<char> digits = text.AsSpan(start, _pos - start);
            if (!long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
            {
                _pos = start;
                throw Fail("expected an integer in the 64-bit range");
            }

            if (value < 0)
            {
                _pos = start;
                throw Fail($"negative dimension {value}");
            }

            return value;
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && text[_pos] is ' ' or '\t' or '\n' or '\r')
            {
                _pos++;
            }
        }

        private readonly string Excerpt() => text.Length <= 120 ? text.TrimEnd() : text[..120] + "...";
    }
}
