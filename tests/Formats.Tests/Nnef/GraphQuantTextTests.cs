using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef.Text;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Tests.Nnef;

public class GraphQuantTextTests
{
    [Fact]
    public void BothEntryFormsParseInAnyArgumentOrder()
    {
        const string text = """
            "a": zero_point_linear_quantize(scale = 0.5, zero_point = -3, bits = 8, signed = true, symmetric = false);
            # comment
            i"odd.name": zero_point_linear_quantize(zero_point = 0, scale = 1e-3, bits = 32, signed = true);
            "m": linear_quantize(max = 1.0, min = -1.0, bits = 8,);
            """;
        var entries = GraphQuantText.Parse(text, "graph.quant");
        Assert.Equal(["a", "odd.name", "m"], entries.Select(e => e.Key));
        Assert.Equal(new QuantInfo { ZeroPoint = -3, Scale = 0.5, Bits = 8, Signed = true, Symmetric = false }, entries[0].Value);
        Assert.Null(entries[1].Value.Symmetric);
        Assert.Equal(32, entries[1].Value.Bits);
        // tract: scale = (max - min) / 255 (in f32), zero_point = trunc(-(min + max) / 2 / scale), signed.
        QuantInfo m = entries[2].Value;
        Assert.Equal(QuantFormat.MinMaxLinear, m.Format);
        Assert.Equal((double)(2f / 255f), m.Scale);
        Assert.Equal(0, m.ZeroPoint);
        Assert.True(m.Signed);
    }

    [Fact]
    public void FormatThenParseGivesTheSameEntries()
    {
        var entries = new List<KeyValuePair<string, QuantInfo>>
        {
            new("x", new QuantInfo { ZeroPoint = 131, Scale = 0.017354927957057953, Bits = 8, Signed = false, Symmetric = false }),
            new("w", new QuantInfo { ZeroPoint = 0, Scale = 1.4284146018326283e-3, Bits = 8, Signed = true }),
        };
        // torch_to_nnef lists zero_point first only for a quantize's output, scale first for every other entry.
        string text = GraphQuantText.Format(entries, new HashSet<string> { "x" });
        Assert.Equal(
            "\"x\": zero_point_linear_quantize(zero_point = 131, scale = 0.017354927957057953, bits = 8, signed = false, symmetric = false);\n" +
            "\"w\": zero_point_linear_quantize(scale = 0.0014284146018326283, zero_point = 0, bits = 8, signed = true);\n",
            text);
        Assert.Equal(entries, GraphQuantText.Parse(text));
        Assert.Equal(entries, GraphQuantText.Parse(GraphQuantText.Format(entries)));
        Assert.StartsWith("\"x\": zero_point_linear_quantize(scale = ", GraphQuantText.Format(entries), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("'a': linear_quantize(min = 0.0, max = 1.0, bits = 8);", "double-quoted")]
    [InlineData("\"a\": zero_point_linear_quantize(scale = 0.5, bits = 8, signed = true);", "missing argument 'zero_point'")]
    [InlineData("\"a\": zero_point_linear_quantize(zero_point = 0, zero_point = 1, scale = 0.5, bits = 8, signed = true);", "given twice")]
    [InlineData("\"a\": zero_point_linear_quantize(zero_point = 0, scale = [0.5, 0.1], bits = 8, signed = true);", "expected a value")]
    [InlineData("\"a\": zero_point_linear_quantize(zero_point = 0.5, scale = 0.5, bits = 8, signed = true);", "must be an integer")]
    [InlineData("\"a\": zero_point_linear_quantize(zero_point = 0, scale = 0.5, bits = 8, signed = yes);", "true or false")]
    [InlineData("\"a\": zero_point_linear_quantize(zero_point = 0, scale = 0.5, bits = 8, signed = true, extra = 1);", "no argument 'extra'")]
    [InlineData("\"a\": log_quantize(bits = 8);", "unknown quantization")]
    [InlineData("\"a\": zero_point_linear_quantize(zero_point = 0, scale = 0.5, bits = 8, signed = true)", "expected ';'")]
    [InlineData("\"a\": linear_quantize(min = 0.0, max = 1.0, bits = 8);\n\"a\": linear_quantize(min = 0.0, max = 1.0, bits = 8);", "duplicate entry")]
    public void MalformedEntriesAreRejected(string text, string message)
    {
        var e = Assert.Throws<InvalidInputFileException>(() => GraphQuantText.Parse(text, "graph.quant"));
        Assert.Contains(message, e.Message);
        Assert.StartsWith("graph.quant: ", e.Message);
    }

    [Fact]
    public void BitWidthsTractCannotLoadAreUnsupported()
    {
        var e = Assert.Throws<UnsupportedFeatureException>(
            () => GraphQuantText.Parse("\"a\": zero_point_linear_quantize(zero_point = 0, scale = 0.5, bits = 4, signed = true);"));
        Assert.Contains("4-bit", e.Message);
    }
}
