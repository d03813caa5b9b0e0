using System.Text.Json;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

public class InspectOnnxTests
{
    [Fact]
    public void TextReportOfTheGoldenExportListsWeightsSignatureAndOperators()
    {
        string path = Golden.File("export_cnn_f32", "model.onnx");
        (int code, string output, string err) = CliRunner.Run("inspect", path);
        Assert.True(code == 0, err);
        string row = Assert.Single(output.Split('\n'), l => l.StartsWith("fc1.weight ", StringComparison.Ordinal));
        Assert.Equal(["fc1.weight", "f32", "[32, 64]", "8192"], row.Split("  ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("input input: f32 [1, 3, 16, 16]", output, StringComparison.Ordinal);
        Assert.Contains("outputs: output", output, StringComparison.Ordinal);
        Assert.Contains("    Conv: 2", output, StringComparison.Ordinal);
        Assert.Contains("opsets: ai.onnx 13", output, StringComparison.Ordinal);
        Assert.Contains($"model.onnx: 8 tensors, {new FileInfo(path).Length:N0} bytes", output, StringComparison.Ordinal);
    }

    [Fact]
    public void JsonReportKeepsNamedDimensions()
    {
        using var dir = new TempDir();
        string path = dir.File("m.onnx");
        // A hand-written model: input x: FLOAT[batch, 4] -> Relu -> y (serialized protobuf, field by field).
        byte[] model = Message(
            Varint(1, 8),
            Bytes(7, Message(
                Bytes(1, Message(Text(1, "x"), Text(2, "y"), Text(3, "relu"), Text(4, "Relu"))),
                Bytes(11, ValueInfo("x")),
                Bytes(12, ValueInfo("y")))),
            Bytes(8, Message(Text(1, ""), Varint(2, 13))));
        File.WriteAllBytes(path, model);

        (int code, string output, string err) = CliRunner.Run("inspect", path, "--json");
        Assert.True(code == 0, err);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement graph = doc.RootElement.GetProperty("graph");
        Assert.Equal("onnx", doc.RootElement.GetProperty("kind").GetString());
        Assert.Equal(["batch", "4"], graph.GetProperty("inputs")[0].GetProperty("shape").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["batch"], graph.GetProperty("symbols").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("Relu", graph.GetProperty("operators")[0].GetProperty("op").GetString());
    }

    [Fact]
    public void AMalformedModelIsAnErrorNamingTheFile()
    {
        using var dir = new TempDir();
        string path = dir.File("bad.onnx");
        File.WriteAllBytes(path, [0x3A, 0x7F, 0x01]);
        (int code, string output, string err) = CliRunner.Run("inspect", path);
        Assert.NotEqual(0, code);
        Assert.Contains(path, output + err, StringComparison.Ordinal);
    }

    private static byte[] ValueInfo(string name) =>
        Message(Text(1, name), Bytes(2, Message(Bytes(1, Message(Varint(1, 1), Bytes(2, Message(Bytes(1, Text(2, "batch")), Bytes(1, Varint(1, 4)))))))));

    private static byte[] Message(params byte[][] fields) => [.. fields.SelectMany(f => f)];

    private static byte[] Text(int field, string value) => Bytes(field, System.Text.Encoding.UTF8.GetBytes(value));

    private static byte[] Bytes(int field, byte[] value) => [.. VarintBytes((ulong)(field << 3 | 2)), .. VarintBytes((ulong)value.Length), .. value];

    private static byte[] Varint(int field, long value) => [.. VarintBytes((ulong)(field << 3)), .. VarintBytes((ulong)value)];

    private static byte[] VarintBytes(ulong v)
    {
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(v & 0x7F);
            v >>= 7;
            bytes.Add(v == 0 ? b : (byte)(b | 0x80));
        }
        while (v != 0);
        return [.. bytes];
    }
}
