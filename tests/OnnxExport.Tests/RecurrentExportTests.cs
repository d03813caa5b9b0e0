using TorchToNnef.Export.Onnx;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.OnnxTestSupport;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;
using A = TorchToNnef.OnnxTestSupport.OnnxAttr;

namespace TorchToNnef.OnnxExport.Tests;

/// <summary>
/// <c>LSTM</c> and <c>GRU</c> exported as <c>tract_core_scan</c>: each model is written by the test, run by ONNX Runtime,
/// exported, written as an archive, re-read and run by our evaluator; every output (Y, Y_h, Y_c) must agree at tract's
/// <c>approximate</c>.
/// </summary>
public sealed class RecurrentExportTests(ITestOutputHelper output)
{
    private const OnnxDataType F = OnnxDataType.Float;
    private const long Seq = 5;
    private const long Batch = 3;
    private const long InputSize = 4;
    private const long Hidden = 6;

    /// <param name="Lstm">LSTM, else GRU.</param>
    /// <param name="Direction">forward, reverse or bidirectional.</param>
    /// <param name="Bias">B given.</param>
    /// <param name="InitialState">initial_h (and initial_c) given, as graph inputs.</param>
    /// <param name="LinearBeforeReset">GRU's linear_before_reset.</param>
    /// <param name="Peepholes">LSTM's P given.</param>
    /// <param name="SequenceLens">sequence_lens given (all equal to the sequence length).</param>
    public sealed record Rnn(bool Lstm, string Direction, bool Bias = true, bool InitialState = false, bool LinearBeforeReset = false, bool Peepholes = false, bool SequenceLens = false, bool DefaultActivations = false, bool Symbolic = false);

    private static readonly Dictionary<string, Rnn> Cases = new(StringComparer.Ordinal)
    {
        ["lstm_forward"] = new(true, "forward"),
        ["lstm_reverse_initial_state"] = new(true, "reverse", InitialState: true),
        ["lstm_bidirectional_initial_state"] = new(true, "bidirectional", InitialState: true, DefaultActivations: true),
        ["lstm_bidirectional_no_bias"] = new(true, "bidirectional", Bias: false),
        ["lstm_peepholes_sequence_lens"] = new(true, "forward", Peepholes: true, SequenceLens: true),
        ["gru_forward"] = new(false, "forward"),
        ["gru_forward_linear_before_reset"] = new(false, "forward", LinearBeforeReset: true),
        ["gru_reverse_initial_state"] = new(false, "reverse", InitialState: true),
        ["gru_bidirectional_linear_before_reset_initial_state"] = new(false, "bidirectional", InitialState: true, LinearBeforeReset: true, DefaultActivations: true),
        ["gru_bidirectional_no_bias"] = new(false, "bidirectional", Bias: false),
        ["lstm_bidirectional_symbolic_sequence_and_batch"] = new(true, "bidirectional", InitialState: true, Symbolic: true),
        ["gru_reverse_symbolic_sequence_and_batch"] = new(false, "reverse", Symbolic: true),
    };

    public static IEnumerable<object[]> CaseNames => Cases.Keys.Order(StringComparer.Ordinal).Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Recurrent_layer_matches_onnx_runtime(string name)
    {
        Rnn rnn = Cases[name];
        using var dir = new TempDir();
        string path = Build(rnn, dir.File("model.onnx"));
        int directions = rnn.Direction == "bidirectional" ? 2 : 1;
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["x"] = OnnxExportHarness.RandomFloats(1, [Seq, Batch, InputSize], -2, 2) };
        if (rnn.InitialState)
        {
            inputs["h0"] = OnnxExportHarness.RandomFloats(2, [directions, Batch, Hidden], -1, 1);
            if (rnn.Lstm)
            {
                inputs["c0"] = OnnxExportHarness.RandomFloats(3, [directions, Batch, Hidden], -1, 1);
            }
        }

        IReadOnlyList<OracleComparison> results = OnnxExportHarness.ExportAndCompare(path, inputs, dir.File("out.nnef.tgz"));
        Assert.Equal(rnn.Lstm ? 3 : 2, results.Count);
        foreach (OracleComparison r in results)
        {
            output.WriteLine($"{name} {r.Output}: max |error| {r.MaxAbsError:E2}");
            Assert.Null(OnnxExportHarness.Approximate(r.Expected, r.Got));
        }
    }

    [Fact]
    public void The_archive_holds_a_scan_over_a_body_fragment()
    {
        using var dir = new TempDir();
        string path = Build(new Rnn(true, "bidirectional"), dir.File("model.onnx"));
        using OnnxModel model = OnnxModel.Load(path);
        Graph graph = OnnxExporter.Translate(model).Graph;
        Formats.Nnef.NnefArchive.Write(graph, dir.File("out"));
        string text = File.ReadAllText(Path.Combine(dir.File("out"), "graph.nnef"));
        output.WriteLine(text);
        Assert.Equal(2, graph.Nodes.Count(n => n.Op == "tract_core_scan"));
        Assert.Contains("fragment lstm_scan_body_0(", text, StringComparison.Ordinal);
        Assert.Contains("= tract_core_scan(body = 'lstm_scan_body_1', scan = [('x', ", text, StringComparison.Ordinal);
        Assert.Contains("output = [('y', 'full', 0, -1), ('h_next', 'last', 0, 1), ('c_next', 'last', 0, 1)]", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("clip", "'clip'")]
    [InlineData("activations", "activations [Tanh, Tanh, Tanh]")]
    [InlineData("layout", "layout 1")]
    [InlineData("sequence_lens", "sequence_lens")]
    [InlineData("input_forget", "input_forget")]
    public void Unsupported_variants_are_refused_naming_the_node(string variant, string expected)
    {
        using var dir = new TempDir();
        var model = new OnnxModelBuilder(14);
        List<OnnxAttr> attributes = [A.Int("hidden_size", Hidden)];
        string[] inputs = ["x", "W", "R"];
        switch (variant)
        {
            case "clip":
                attributes.Add(A.Float("clip", 3f));
                break;
            case "activations":
                attributes.Add(A.Strings("activations", "Tanh", "Tanh", "Tanh"));
                break;
            case "layout":
                attributes.Add(A.Int("layout", 1));
                break;
            case "input_forget":
                attributes.Add(A.Int("input_forget", 1));
                break;
            case "sequence_lens":
                model.Graph.Initializer(OnnxTensorSpec.Of("lens", OnnxDataType.Int32, new[] { 5, 4, 5 }, Batch));
                inputs = ["x", "W", "R", "", "lens"];
                break;
        }

        model.Graph.Input("x", F, Seq, Batch, InputSize)
            .Initializer(Weight("W", 1, 1, 4 * Hidden, InputSize)).Initializer(Weight("R", 2, 1, 4 * Hidden, Hidden))
            .NamedNode("the_lstm", "LSTM", inputs, ["y"], [.. attributes])
            .Output("y", F, null);
        string path = model.Save(dir.File("model.onnx"));
        using OnnxModel m = OnnxModel.Load(path);
        var e = Assert.Throws<Errors.UnsupportedFeatureException>(() => OnnxExporter.Translate(m));
        Assert.Contains("the_lstm", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    private static string Build(Rnn rnn, string path)
    {
        int directions = rnn.Direction == "bidirectional" ? 2 : 1;
        int gates = rnn.Lstm ? 4 : 3;
        var model = new OnnxModelBuilder(14);
        OnnxGraphBuilder g = model.Graph;
        object seq = rnn.Symbolic ? "S" : Seq;
        object batch = rnn.Symbolic ? "N" : Batch;
        g.Input("x", F, seq, batch, InputSize);
        g.Initializer(Weight("W", 10, directions, gates * Hidden, InputSize));
        g.Initializer(Weight("R", 11, directions, gates * Hidden, Hidden));
        string[] inputs = ["x", "W", "R", "", "", "", "", ""];
        if (rnn.Bias)
        {
            g.Initializer(Weight("B", 12, directions, 2 * gates * Hidden));
            inputs[3] = "B";
        }

        if (rnn.SequenceLens)
        {
            g.Initializer(OnnxTensorSpec.Of("lens", OnnxDataType.Int32, Enumerable.Repeat((int)Seq, (int)Batch).ToArray(), Batch));
            inputs[4] = "lens";
        }

        if (rnn.InitialState)
        {
            g.Input("h0", F, directions, batch, Hidden);
            inputs[5] = "h0";
            if (rnn.Lstm)
            {
                g.Input("c0", F, directions, batch, Hidden);
                inputs[6] = "c0";
            }
        }

        if (rnn.Peepholes)
        {
            g.Initializer(Weight("P", 13, directions, 3 * Hidden));
            inputs[7] = "P";
        }

        int used = Array.FindLastIndex(inputs, i => i.Length > 0) + 1;
        List<OnnxAttr> attributes = [A.Int("hidden_size", Hidden), A.String("direction", rnn.Direction)];
        if (!rnn.Lstm)
        {
            attributes.Add(A.Int("linear_before_reset", rnn.LinearBeforeReset ? 1 : 0));
        }

        if (rnn.DefaultActivations)
        {
            string[] one = rnn.Lstm ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"];
            attributes.Add(A.Strings("activations", [.. Enumerable.Repeat(one, directions).SelectMany(a => a)]));
        }

        string[] outputs = rnn.Lstm ? ["y", "y_h", "y_c"] : ["y", "y_h"];
        g.Node(rnn.Lstm ? "LSTM" : "GRU", inputs[..used], outputs, [.. attributes]);
        foreach (string o in outputs)
        {
            g.Output(o, F, null);
        }

        return model.Save(path);
    }

    private static OnnxTensorSpec Weight(string name, int seed, params long[] dims) =>
        OnnxTensorSpec.Floats(name, OnnxExportHarness.RandomFloats(seed, dims, -0.6f, 0.6f).ToFloatArray(), dims);
}
