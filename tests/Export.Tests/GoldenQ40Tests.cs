using System.Text.Json;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// Q4_0 weights read by the evaluator in both nibble orders (<c>.dat</c> for tract 0.21.13 and 0.21.10) against the
/// golden dequantization (<c>(code − 8) · scale</c> in f32): gathered rows in f32 must be bit-identical, in f16 equal to
/// the f32 value rounded once, and a Q4_0 <c>linear</c> must equal the same product with the dequantized f32 weight.
/// </summary>
public class GoldenQ40Tests
{
    public static TheoryData<string> Cases()
    {
        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllText(Golden.File("q40", "manifest.json")));
        var data = new TheoryData<string>();
        foreach (JsonElement c in manifest.RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("id").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GatherOfEveryRowReproducesTheGoldenDequantization(string id)
    {
        float[] expected = GoldenDequant(id, out long[] shape);
        int rows = (int)shape[0];
        int rowSize = expected.Length / rows;
        foreach (string version in new[] { "0.21.13", "0.21.10" })
        {
            using Tensor q = DatFile.Read(Golden.File("q40", $"{id}.tract-{version}.dat"));
            Assert.Equal(DType.Q40, q.DType); // both encodings are read as the one in-memory form
            foreach (string dt in new[] { "f32", "f16" })
            {
                var g = new GraphFixture().Input("ids", DType.I64, rows);
                g.Graph.AddVariable("w", "w", TensorSource.FromTensor(q));
                g.Op("rows", "tract_core_gather", R("w"), R("ids")).With("axis", I(0)).With("datum_type", Arg.String(dt));
                g.Output("rows");
                long[] ids = Enumerable.Range(0, rows).Select(i => (long)(rows - 1 - i)).ToArray();
                TensorValue got = g.RunSingle(new NamedTensor("ids", TensorValue.Create(DatumType.I64, [rows], ids)));
                Assert.Equal([rows, .. shape.Skip(1).Select(d => (int)d)], got.Shape.ToArray());
                float[] values = Cast.To(got, DatumType.F32).Span<float>().ToArray();
                for (int i = 0; i < rows; i++)
                {
                    for (int j = 0; j < rowSize; j++)
                    {
                        float e = expected[(ids[i] * rowSize) + j];
                        float want = dt == "f32" ? e : (float)(Half)e;
                        float have = values[(i * rowSize) + j];
                        Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(have) || (float.IsNaN(want) && float.IsNaN(have)),
                            $"{id} {version} {dt} row {ids[i]} col {j}: expected {want:R}, got {have:R}");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData("s64x96_f32_uniform_wide")]
    [InlineData("s256x4096_f32_normal")]
    public void Q40LinearEqualsTheProductWithTheDequantizedWeight(string id)
    {
        float[] dequant = GoldenDequant(id, out long[] shape);
        int n = (int)shape[0];
        int k = (int)shape[1];
        using Tensor q = DatFile.Read(Golden.File("q40", $"{id}.tract-0.21.13.dat"));
        float[] x = Enumerable.Range(0, 3 * k).Select(i => MathF.Sin(i * 0.37f)).ToArray();

        var g = new GraphFixture().Input("x", DType.F32, 1, 3, k).Constant("wf", dequant, 1, n, k);
        g.Graph.AddVariable("wq", "wq", TensorSource.FromTensor(q));
        g.Op("wq3", "unsqueeze", R("wq")).With("axes", Arg.Ints(0));
        g.Op("yq", "linear", R("x"), R("wq3"), F(0.0));
        g.Op("yf", "linear", R("x"), R("wf"), F(0.0));
        g.Output("yq", "yf");
        IReadOnlyList<NamedTensor> r = g.Run(F32("x", x, 1, 3, k));
        Assert.Equal(new[] { 1, 3, n }, r[0].Value.Shape.ToArray());
        Assert.Equal(r[1].Value.Span<float>().ToArray(), r[0].Value.Span<float>().ToArray());
    }

    private static float[] GoldenDequant(string id, out long[] shape)
    {
        using SafetensorsFile file = SafetensorsFile.Open(Golden.File("q40", $"{id}.dequant.safetensors"));
        // dequant_f32 is (code - 8) * scale in f32 for f16/bf16 inputs; for f32 inputs dequant is that already.
        SafetensorsEntry entry = file.Entries.FirstOrDefault(e => e.Name == "dequant_f32") ?? file.Entries.Single(e => e.Name == "dequant");
        using Tensor t = file.GetTensor(entry);
        shape = t.Shape.ToArray();
        return t.ToFloatArray();
    }
}
