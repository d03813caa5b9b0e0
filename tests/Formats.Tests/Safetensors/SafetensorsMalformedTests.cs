using System.Buffers.Binary;
using System.Text;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.TestSupport;
using static TorchToNnef.Formats.Tests.Safetensors.SafetensorsBytes;

namespace TorchToNnef.Formats.Tests.Safetensors;

/// <summary>
/// A corpus of 60 malformed safetensors files generated here. Each must be rejected with
/// <see cref="InvalidInputFileException"/> naming the file, the fault (asserted as text) and the tensor when one is
/// at fault (and no tensor when the file or header as a whole is) — never a crash, a hang or an allocation sized by
/// the file's claims.
/// </summary>
public class SafetensorsMalformedTests
{
    private const string Good = "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}";

    private static readonly byte[] Data16 = Ramp(16);

    /// <summary>Case name to (file bytes, expected fault text, tensor at fault or null).</summary>
    private static readonly Dictionary<string, (byte[] Bytes, string Fault, string? Tensor)> Cases = new()
    {
        // Length field and file size.
        ["empty-file"] = ([], "too short for the 8-byte header length", null),
        ["five-bytes"] = ([1, 2, 3, 4, 5], "too short for the 8-byte header length", null),
        ["length-high-bit-flip"] = (FlipLengthBit(Build("{" + Good + "}", Data16), 62), "exceeds the limit of 100000000 bytes", null),
        ["length-all-ones"] = (SetLength(Build("{" + Good + "}", Data16), ulong.MaxValue), "exceeds the limit", null),
        ["length-past-eof"] = (SetLength(Build("{" + Good + "}", Data16), 5000), "bytes after the length field (truncated file?)", null),
        ["length-zero"] = (SetLength(Build("{}", []), 0), "does not start with '{'", null),
        ["length-minus-one"] = (AddLength(Build("{" + Good + "}", Data16), -1), "1 bytes after the last tensor (data area is 17 bytes", null),
        ["length-plus-one"] = (AddLength(Build("{" + Good + "}", Data16), +1), "byte 0x00 at header offset 64 after the header object", null),
        ["truncated-in-header"] = (Build("{" + Good + "}", Data16)[..40], "bytes after the length field (truncated file?)", null),
        ["truncated-in-data"] = (Build("{" + Good + "}", Data16)[..^3], "end past the 13-byte data area (truncated file?)", "w"),
        ["trailing-bytes"] = (Build("{" + Good + "}", Ramp(20)), "4 bytes after the last tensor", null),

        // Text and JSON.
        ["bad-utf8"] = (Build(Utf8("{\"w\xff\":{}}"), []), "header is not valid UTF-8", null),
        ["utf8-surrogate"] = (Build([.. "{\""u8, 0xED, 0xA0, 0x80, .. "\":1}"u8], []), "header is not valid UTF-8", null),
        ["overlong-utf8"] = (Build([.. "{\""u8, 0xC0, 0xAF, .. "\":1}"u8], []), "header is not valid UTF-8", null),
        ["leading-space"] = (Build(" {" + Good + "}", Data16), "does not start with '{'", null),
        ["root-null"] = (Build("null", []), "does not start with '{'", null),
        ["not-json"] = (Build("{abc}", []), "header is not valid JSON", null),
        ["unterminated"] = (Build("{" + Good, Data16), "header is not valid JSON", null),
        ["trailing-garbage"] = (Build("{" + Good + "} x", Data16), "byte 0x78 at header offset 58 after the header object", null),
        ["two-objects"] = (Build("{" + Good + "}{}", Data16), "byte 0x7B at header offset 57 after the header object", null),
        ["comment"] = (Build("{/*c*/" + Good + "}", Data16), "header is not valid JSON", null),
        ["trailing-comma"] = (Build("{" + Good + ",}", Data16), "header is not valid JSON", null),
        ["nesting-bomb"] = (Build("{\"w\":{\"shape\":" + new string('[', 100_000) + new string(']', 100_000) + "}}", []), "maximum configured depth of 3", null),
        ["metadata-bomb"] = (Build("{\"__metadata__\":{\"k\":" + new string('[', 50_000) + "}}", []), "must be a string, found StartArray", null),
        ["metadata-not-object"] = (Build("{\"__metadata__\":[\"a\"]," + Good + "}", Data16), "must be an object of strings", null),
        ["metadata-number"] = (Build("{\"__metadata__\":{\"k\":1}," + Good + "}", Data16), "value of 'k' must be a string, found Number", null),
        ["metadata-duplicate"] = (Build("{\"__metadata__\":{},\"__metadata__\":{}," + Good + "}", Data16), "duplicate key '__metadata__'", null),
        ["metadata-duplicate-key"] = (Build("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}," + Good + "}", Data16), "duplicate '__metadata__' key 'a'", null),

        // Tensor entries.
        ["entry-not-object"] = (Build("{\"w\":\"F32\"}", []), "entry must be an object, found String", "w"),
        ["unknown-dtype"] = (Build("{" + Entry("w", "F99", "[4]", 0, 16) + "}", Data16), "unknown dtype 'F99'", "w"),
        ["lowercase-dtype"] = (Build("{" + Entry("w", "f32", "[4]", 0, 16) + "}", Data16), "unknown dtype 'f32'", "w"),
        ["dtype-number"] = (Build("{\"w\":{\"dtype\":4,\"shape\":[4],\"data_offsets\":[0,16]}}", Data16), "dtype must be a string, found Number", "w"),
        ["missing-dtype"] = (Build("{\"w\":{\"shape\":[4],\"data_offsets\":[0,16]}}", Data16), "missing field 'dtype'", "w"),
        ["missing-shape"] = (Build("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}", Data16), "missing field 'shape'", "w"),
        ["missing-offsets"] = (Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[4]}}", Data16), "missing field 'data_offsets'", "w"),
        ["unknown-field"] = (Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16],\"foo\":1}}", Data16), "unexpected field 'foo'", "w"),
        ["duplicate-field"] = (Build("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", Data16), "duplicate field 'dtype'", "w"),
        ["shape-not-array"] = (Build("{" + Entry("w", "F32", "4", 0, 16) + "}", Data16), "shape must be an array, found Number", "w"),
        ["negative-dim"] = (Build("{" + Entry("w", "F32", "[-4]", 0, 16) + "}", Data16), "shape dimension -4 is negative", "w"),
        ["fractional-dim"] = (Build("{" + Entry("w", "F32", "[2.5]", 0, 16) + "}", Data16), "shape dimension 2.5 is not an integer", "w"),
        ["exponent-dim"] = (Build("{" + Entry("w", "F32", "[4e0]", 0, 16) + "}", Data16), "shape dimension 4e0 is not an integer", "w"),
        ["string-dim"] = (Build("{" + Entry("w", "F32", "[\"4\"]", 0, 16) + "}", Data16), "shape dimension must be an integer, found String", "w"),
        ["dim-beyond-int64"] = (Build("{" + Entry("w", "F32", "[100000000000000000000]", 0, 16) + "}", Data16), "not an integer in the 64-bit range", "w"),
        ["element-count-overflow"] = (Build("{" + Entry("w", "U8", "[4611686018427387904,4]", 0, 16) + "}", Data16), "element count overflows 64 bits", "w"),
        ["byte-size-overflow"] = (Build("{" + Entry("w", "F64", "[1152921504606846976,2]", 0, 16) + "}", Data16), "overflows 64-bit byte sizes", "w"),
        ["size-mismatch"] = (Build("{" + Entry("w", "F32", "[2,2]", 0, 12) + "}", Data16[..12]), "span 12 bytes but F32[2, 2] needs 16", "w"),
        ["offsets-one-value"] = (Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16]}}", Data16), "data_offsets has 1 values, expected two", "w"),
        ["offsets-three-values"] = (Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16,16]}}", Data16), "more than two values", "w"),
        ["offsets-reversed"] = (Build("{" + Entry("w", "F32", "[4]", 16, 0) + "}", Data16), "end before they begin", "w"),
        ["offsets-negative"] = (Build("{" + Entry("w", "F32", "[4]", -16, 0) + "}", Data16), "data offset -16 is negative", "w"),
        ["offsets-fractional"] = (Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0.0,16]}}", Data16), "data offset 0.0 is not an integer", "w"),
        ["offsets-strings"] = (Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[\"0\",\"16\"]}}", Data16), "data offset must be an integer, found String", "w"),
        ["offsets-oversized"] = (Build("{" + Entry("w", "U8", "[1099511627776]", 0, 1L << 40) + "}", Data16), "end past the 16-byte data area", "w"),
        ["offsets-int64-max"] = (Build("{" + Entry("w", "U8", "[0]", long.MaxValue, long.MaxValue) + "}", Data16), "end past the 16-byte data area", "w"),
        ["overlap"] = (Build("{" + Entry("a", "F32", "[4]", 0, 16) + "," + Entry("b", "F32", "[2]", 8, 16) + "}", Data16), "overlap tensor 'a'", "b"),
        ["aliased"] = (Build("{" + Entry("a", "F32", "[4]", 0, 16) + "," + Entry("b", "I32", "[4]", 0, 16) + "}", Data16), "overlap tensor 'a'", "b"),
        ["gap"] = (Build("{" + Entry("a", "F32", "[2]", 0, 8) + "," + Entry("b", "F32", "[1]", 12, 16) + "}", Data16), "gap of 4 bytes before data_offsets [12, 16]", "b"),
        ["gap-at-start"] = (Build("{" + Entry("a", "F32", "[3]", 4, 16) + "}", Data16), "gap of 4 bytes", "a"),
        ["duplicate-name"] = (Build("{" + Entry("a", "F32", "[2]", 0, 8) + "," + Entry("a", "F32", "[2]", 8, 16) + "}", Data16), "duplicate tensor name", "a"),
        ["duplicate-name-escaped"] = (Build("{" + Entry("a", "F32", "[2]", 0, 8) + "," + Entry("\\u0061", "F32", "[2]", 8, 16) + "}", Data16), "duplicate tensor name", "a"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Fact]
    public void CorpusHasSixtyFiles() => Assert.Equal(60, Cases.Count);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void MalformedFileIsRejectedWithItsFault(string caseName)
    {
        (byte[] bytes, string fault, string? tensor) = Cases[caseName];
        using var dir = new TempDir();
        string path = dir.File(caseName + ".safetensors");
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<InvalidInputFileException>(() => SafetensorsFile.Open(path));

        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Contains(fault, StringComparison.Ordinal), $"expected '{fault}' in: {e.Message}");
        Assert.Equal(path, e.FilePath);
        if (tensor is not null)
        {
            Assert.Equal(tensor, e.TensorName);
            Assert.Contains($"tensor '{tensor}'", e.Message, StringComparison.Ordinal);
        }
        else
        {
            // A fault of the file or the header as a whole: no tensor is blamed.
            Assert.Null(e.TensorName);
            Assert.DoesNotContain("tensor '", e.Message, StringComparison.Ordinal);
        }

        // The checkpoint entry point reports the same fault.
        var viaCheckpoint = Assert.Throws<InvalidInputFileException>(() => SafetensorsCheckpoint.Open(path));
        Assert.Equal(e.Message, viaCheckpoint.Message);
    }

    [Theory]
    [InlineData("F8_E4M3", "dtype F8_E4M3 is not supported")]
    [InlineData("F8_E5M2", "dtype F8_E5M2 is not supported")]
    public void ValidButUnsupportedDTypeIsReportedAsUnsupported(string dtype, string fault)
    {
        using var dir = new TempDir();
        string path = dir.File("fp8.safetensors");
        File.WriteAllBytes(path, Build("{" + Entry("w", dtype, "[4]", 0, 4) + "}", Ramp(4)));
        var e = Assert.Throws<UnsupportedFeatureException>(() => SafetensorsFile.Open(path));
        Assert.Equal($"{path}: tensor 'w': {fault}", e.Message);
    }

    [Fact]
    public void RankAboveEightIsReportedAsUnsupported()
    {
        using var dir = new TempDir();
        string path = dir.File("rank9.safetensors");
        File.WriteAllBytes(path, Build("{" + Entry("w", "U8", "[1,1,1,1,1,1,1,1,1]", 0, 1) + "}", Ramp(1)));
        var e = Assert.Throws<UnsupportedFeatureException>(() => SafetensorsFile.Open(path));
        Assert.Contains("rank above 8", e.Message, StringComparison.Ordinal);
    }

    private static byte[] Utf8(string latin1) => Encoding.Latin1.GetBytes(latin1);

    private static byte[] SetLength(byte[] file, ulong n)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(file, n);
        return file;
    }

    private static byte[] AddLength(byte[] file, long delta) =>
        SetLength(file, (ulong)((long)BinaryPrimitives.ReadUInt64LittleEndian(file) + delta));

    private static byte[] FlipLengthBit(byte[] file, int bit) =>
        SetLength(file, BinaryPrimitives.ReadUInt64LittleEndian(file) ^ (1UL << bit));
}
