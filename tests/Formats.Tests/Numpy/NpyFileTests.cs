using System.Buffers.Binary;
using System.Text;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Numpy;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Numpy;

public class NpyFileTests
{
    public static TheoryData<DType, string> Descrs => new()
    {
        { DType.F64, "<f8" }, { DType.F32, "<f4" }, { DType.F16, "<f2" }, { DType.I64, "<i8" }, { DType.I32, "<i4" },
        { DType.I16, "<i2" }, { DType.I8, "|i1" }, { DType.U64, "<u8" }, { DType.U32, "<u4" }, { DType.U16, "<u2" },
        { DType.U8, "|u1" }, { DType.Bool, "|b1" },
    };

    [Theory]
    [MemberData(nameof(Descrs))]
    public void EveryDTypeRoundTripsWithNumpysHeader(DType dtype, string descr)
    {
        int n = 2 * 3 * 5;
        byte[] payload = new byte[n * dtype.ElementSize()];
        new Random(7).NextBytes(payload);
        if (dtype == DType.Bool)
        {
            payload = payload.Select(b => (byte)(b & 1)).ToArray();
        }

        using var t = new Tensor(dtype, Shape.Of(2, 3, 5), OwnedTensorData.CopyOf(payload));
        using var stream = new MemoryStream();
        NpyFile.Write(stream, t);
        byte[] bytes = stream.ToArray();

        // Hand-written expectation of numpy's format 1.0 header for this array.
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': (2, 3, 5), }}" + new string(' ', 20);
        int pad = 64 - ((10 + dict.Length + 1) % 64);
        byte[] header = [0x93, .. "NUMPY"u8, 1, 0, 0, 0, .. Encoding.ASCII.GetBytes(dict + new string(' ', pad) + "\n")];
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)(header.Length - 10));
        Assert.Equal(0, header.Length % 64);
        Assert.Equal([.. header, .. payload], bytes);

        stream.Position = 0;
        using Tensor back = NpyFile.Read(stream, "mem");
        Assert.Equal(dtype, back.DType);
        Assert.Equal(t.Shape, back.Shape);
        Assert.Equal(payload, back.Bytes.ToArray());
    }

    [Theory]
    [InlineData(new long[0], "()")]
    [InlineData(new long[] { 7 }, "(7,)")]
    [InlineData(new long[] { 0, 3 }, "(0, 3)")]
    public void ScalarVectorAndEmptyShapesRoundTrip(long[] dims, string shapeText)
    {
        var shape = new Shape(dims);
        using Tensor t = Tensor.Allocate(DType.F32, shape);
        using var stream = new MemoryStream();
        NpyFile.Write(stream, t);
        Assert.Contains($"'shape': {shapeText}, }}", Encoding.ASCII.GetString(stream.ToArray()), StringComparison.Ordinal);
        stream.Position = 0;
        using Tensor back = NpyFile.Read(stream, "mem");
        Assert.Equal(shape, back.Shape);
    }

    [Theory]
    [InlineData(2, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }")]
    [InlineData(3, "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<i2\"}")] // any key order, either quote
    [InlineData(1, "{'descr':'<i2','fortran_order':False,'shape':(2,)}")]
    public void ReadsVersionsOneTwoThreeAndLiberalDictSpelling(byte major, string dict)
    {
        byte[] bytes = NpyBytes(major, dict, [1, 0, 0xFF, 0xFF]);
        using Tensor t = NpyFile.Read(new MemoryStream(bytes), "v");
        Assert.Equal([1, -1], t.AsSpan<short>().ToArray());
    }

    [Fact]
    public void WriteIsAtomicAndBf16IsRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("a.npy");
        using Tensor f = Tensor.FromFloats(Shape.Of(2), [1f, 2f]);
        NpyFile.Write(path, f);
        using (Tensor back = NpyFile.Read(path))
        {
            Assert.Equal([1f, 2f], back.AsSpan<float>().ToArray());
        }

        using Tensor bf = Tensor.Allocate(DType.BF16, Shape.Of(2));
        var e = Assert.Throws<UnsupportedFeatureException>(() => NpyFile.Write(path, bf));
        Assert.Contains("bf16 has no numpy dtype", e.Message, StringComparison.Ordinal);
        Assert.Equal([path], Directory.GetFiles(dir.Path)); // the failed write left no temporary file
        using Tensor still = NpyFile.Read(path); // and did not touch the existing file
        Assert.Equal([1f, 2f], still.AsSpan<float>().ToArray());
    }

    private const string GoodDict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";

    private static readonly Dictionary<string, (byte[] Bytes, string Fault)> Malformed = new()
    {
        ["empty"] = ([], "truncated .npy header (0 bytes)"),
        ["bad-magic"] = ("\x93NUMPZ\x01\x00"u8.ToArray(), "not a .npy file (bad magic)"),
        ["text-file"] = ("hello world, not numpy"u8.ToArray(), "not a .npy file (bad magic)"),
        ["truncated-magic"] = ([0x93, (byte)'N', (byte)'U'], "truncated .npy header (3 bytes)"),
        ["truncated-length"] = ([0x93, .. "NUMPY"u8, 1, 0, 5], "truncated .npy header length"),
        ["truncated-header"] = (NpyBytes(1, GoodDict, new byte[8])[..40], "truncated .npy header: 30 of"),
        ["huge-header-length"] = ([0x93, .. "NUMPY"u8, 2, 0, 0xFF, 0xFF, 0xFF, 0xFF], "header length 4294967295 exceeds"),
        ["missing-shape"] = (NpyBytes(1, "{'descr': '<f4', 'fortran_order': False}", []), "missing key 'shape'"),
        ["missing-descr"] = (NpyBytes(1, "{'fortran_order': False, 'shape': ()}", []), "missing key 'descr'"),
        ["extra-key"] = (NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", []), "unexpected key 'x'"),
        ["duplicate-key"] = (NpyBytes(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", []), "duplicate key 'descr'"),
        ["not-a-dict"] = (NpyBytes(1, "['descr', '<f4']", []), "expected '{'"),
        ["unquoted-key"] = (NpyBytes(1, "{descr: '<f4'}", []), "expected a quoted string"),
        ["unterminated-string"] = (NpyBytes(1, "{'descr: <f4}", []), "unterminated or escaped string"),
        ["bool-spelling"] = (NpyBytes(1, "{'descr': '<f4', 'fortran_order': false, 'shape': ()}", []), "expected True or False"),
        ["shape-not-tuple"] = (NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", []), "expected '('"),
        ["shape-parenthesized-int"] = (NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", new byte[8]), "shape '(n)' is not a tuple"),
        ["shape-negative"] = (NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", []), "negative dimension -2"),
        ["shape-fraction"] = (NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}", []), "offset 52: expected ')'"),
        ["shape-overflow"] = (NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", []), "element count overflows 64 bits"),
        ["shape-huge-int"] = (NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", []), "expected an integer in the 64-bit range"),
        ["trailing-text"] = (NpyBytes(1, GoodDict + " junk", new byte[8]), "unexpected text after the header dict"),
        ["truncated-payload"] = (NpyBytes(1, GoodDict, new byte[5]), "truncated payload: header needs 8 bytes, 5 remain"),
        ["claims-huge-payload"] = (NpyBytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000,)}", new byte[8]), "header needs 800000000 bytes, 8 remain"),
        ["trailing-bytes"] = (NpyBytes(1, GoodDict, new byte[9]), "unexpected bytes after the 8-byte payload"),
        ["bad-utf8-v3"] = (NpyBytes(3, "{'descr': '<f4\xff', 'fortran_order': False, 'shape': ()}", []), ".npy 3.0 header is not valid UTF-8"),
    };

    public static TheoryData<string> MalformedNames => [.. Malformed.Keys];

    [Theory]
    [MemberData(nameof(MalformedNames))]
    public void MalformedNpyIsRejected(string name)
    {
        (byte[] bytes, string fault) = Malformed[name];
        using var dir = new TempDir();
        string path = dir.File(name + ".npy");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidInputFileException>(() => NpyFile.Read(path));
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Contains(fault, StringComparison.Ordinal), $"expected '{fault}' in: {e.Message}");
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}", "Fortran-order")]
    [InlineData("{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}", "dtype '>f4' is not little-endian")]
    [InlineData("{'descr': '<V2', 'fortran_order': False, 'shape': (2,)}", "dtype '<V2' is not supported")]
    [InlineData("{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}", "dtype '<c8' is not supported")]
    [InlineData("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", "structured (record) dtypes are not supported")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", "rank 9 is above 8")]
    public void ValidButUnsupportedArraysAreReportedAsSuch(string dict, string fault)
    {
        byte[] bytes = NpyBytes(1, dict, new byte[8]);
        var e = Assert.Throws<UnsupportedFeatureException>(() => NpyFile.Read(new MemoryStream(bytes), "f.npy"));
        Assert.StartsWith("f.npy: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(fault, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsupportedVersionIsReported()
    {
        byte[] bytes = NpyBytes(1, GoodDict, new byte[8]);
        bytes[6] = 4;
        var e = Assert.Throws<UnsupportedFeatureException>(() => NpyFile.Read(new MemoryStream(bytes), "f.npy"));
        Assert.Contains(".npy format version 4.0 is not supported", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A .npy file with the given version and dict text (newline appended, no alignment padding).</summary>
    internal static byte[] NpyBytes(byte major, string dict, byte[] payload)
    {
        byte[] text = Encoding.Latin1.GetBytes(dict + "\n");
        int lengthBytes = major == 1 ? 2 : 4;
        var bytes = new byte[8 + lengthBytes + text.Length + payload.Length];
        bytes[0] = 0x93;
        "NUMPY"u8.CopyTo(bytes.AsSpan(1));
        bytes[6] = major;
        if (major == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)text.Length);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)text.Length);
        }

        text.CopyTo(bytes, 8 + lengthBytes);
        payload.CopyTo(bytes, 8 + lengthBytes + text.Length);
        return bytes;
    }
}
