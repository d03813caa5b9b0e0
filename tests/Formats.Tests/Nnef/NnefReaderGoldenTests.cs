using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

public class NnefReaderGoldenTests
{
    public static TheoryData<string> Archives => GoldenArchives.All();

    [Theory]
    [MemberData(nameof(Archives))]
    public void TgzAndExtractedFolderLoadToTheSameGraphWithTheFilesBytes(string rel)
    {
        string tgz = Path.Combine(Golden.Dir, rel);
        string dir = GoldenArchives.ExtractedDir(tgz);
        Graph fromTgz = NnefArchive.Read(tgz);
        Graph fromDir = NnefArchive.Read(dir);

        GraphAssert.Equal(fromDir, fromTgz);
        Assert.NotEmpty(fromDir.Nodes);
        Assert.Equal(fromDir.Nodes.Count(n => n.Op == Graph.VariableOp), fromDir.Variables.Count);

        // Every variable's payload is exactly the bytes after the 128-byte header of its .dat file.
        foreach ((string name, Variable v) in fromTgz.Variables)
        {
            byte[] file = File.ReadAllBytes(Path.Combine(dir, v.Label + ".dat"));
            using var ms = new MemoryStream();
            ((DatTensorSource)v.Source).CopyRawPayloadTo(ms);
            Assert.True(file.AsSpan(128).SequenceEqual(ms.ToArray()), $"{rel}: payload of {name}");
            using Tensor t = v.Source.Open();
            Assert.Equal(v.Shape, t.Shape);
        }
    }

    [Theory]
    [MemberData(nameof(Archives))]
    public void HeadersOnlyReadsGiveTheSameStructureWithoutPayloads(string rel)
    {
        string tgz = Path.Combine(Golden.Dir, rel);
        Graph full = NnefArchive.Read(tgz);
        foreach (string path in new[] { tgz, GoldenArchives.ExtractedDir(tgz) })
        {
            Graph headers = NnefArchive.Read(path, new NnefReadOptions { HeadersOnly = true });
            GraphAssert.Equal(full, headers, compareData: false);
            foreach (Variable v in headers.Variables.Values)
            {
                var source = (DatTensorSource)v.Source;
                Assert.False(source.HasPayload);
                Assert.Equal(((DatTensorSource)full.Variables.Values.First(f => f.Label == v.Label).Source).Header, source.Header);
                Assert.Contains("headers only", Assert.Throws<InvalidOperationException>(() => source.Open()).Message);
            }
        }
    }

    [Fact]
    public void CnnGraphHasTheStatementsAndVariablesOfTheFile()
    {
        Graph g = NnefArchive.Read(Golden.File("export_cnn_f32", "model.nnef.tgz"));
        Assert.Equal(["input"], g.Inputs);
        Assert.Equal(["output"], g.Outputs);
        Assert.Equal(["tract_core"], g.Registries);
        Assert.Equal(32, g.Nodes.Count);
        Assert.Equal(17, g.Variables.Count);
        Assert.Equal(2, g.Nodes.Count(n => n.Op == "conv"));
        Assert.Equal(3, g.Nodes.Count(n => n.Op == "relu"));
        Assert.Empty(g.Fragments);
        Assert.Equal("0.21.13", g.GetProperty("tract_target_version"));
        Assert.Equal("SmallCNN", g.GetProperty("exported_py_class"));
        Assert.Equal(7, g.Properties.Count);

        Node conv = g.FindProducer("conv1__input__convolution0")!;
        Assert.Equal([Arg.Ref("input"), Arg.Ref("conv1_weight"), Arg.Ref("conv1_bias")], conv.Inputs);
        Assert.Equal(Arg.Array(Arg.Tuple(Arg.Int(1), Arg.Int(1)), Arg.Tuple(Arg.Int(1), Arg.Int(1))), conv.GetAttribute("padding"));
        Assert.Equal(Arg.String("constant"), conv.GetAttribute("border"));
        Assert.Equal(["dilation", "padding", "stride", "groups", "border"], conv.Attributes.Keys);

        Node eps = g.FindProducer("var_1e_05")!;
        Assert.Equal("scalar", eps.Generic);
        Assert.Equal(DType.F64, g.Variables["var_1e_05"].DType);
        Assert.Equal(0, g.Variables["var_1e_05"].Shape.Rank);

        Node input = g.Nodes[0];
        Assert.Equal(Graph.ExternalOp, input.Op);
        Assert.Equal([Dim.Of(1), Dim.Of(3), Dim.Of(16), Dim.Of(16)], g.GetInputShape("input"));
        Assert.Equal(DType.F32, g.GetInputDType("input"));
        Assert.Equal(
            [Arg.Ref("relu3__relu0"), Arg.Ref("fc2_weight"), Arg.Ref("fc2_bias_aligned_rank_expanded")],
            g.FindProducer("output")!.Inputs);
    }

    [Fact]
    public void Q40VariablesHaveNoGenericAndTheQ40DType()
    {
        Graph g = NnefArchive.Read(Golden.File("export_mlp_q40", "nnef"));
        Assert.Equal(DType.Q40, g.Variables["emb_weight"].DType);
        Assert.Null(g.FindProducer("emb_weight")!.Generic);
        Assert.Equal(new Shape(128, 64), g.Variables["emb_weight"].Shape);
        Assert.Equal(DType.F32, g.Variables["fc1_bias"].DType);
        Node gather = g.FindProducer("emb__h")!;
        Assert.Equal(Arg.String("f32"), gather.GetAttribute("datum_type"));
        Assert.Equal(Arg.Float(0.0), g.FindProducer("logits")!.Inputs[2]);
        Assert.Equal(DType.I64, g.GetInputDType("ids"));
    }

    [Fact]
    public void GraphQuantEntriesAreAttachedToTheirValues()
    {
        Graph g = NnefArchive.Read(Golden.File("export_ptq_conv1d_q8", "model.nnef.tgz"));
        Assert.Equal(7, g.Quantization.Count);
        QuantInfo q = g.Quantization["quant__input_quantize_per_tensor0"];
        Assert.Equal(131, q.ZeroPoint);
        Assert.Equal(0.017354927957057953, q.Scale);
        Assert.Equal(8, q.Bits);
        Assert.False(q.Signed);
        Assert.False(q.Symmetric);
        Assert.True(g.Quantization["cnn1__input_weight"].Signed);
        Assert.Equal(DType.I8, g.Variables["cnn1__input_weight"].DType);
        Assert.True(((DatTensorSource)g.Variables["cnn1__input_weight"].Source).Header.IsQuantizedStorage);
        Assert.Equal(DType.I32, g.Variables["cnn1__input_bias"].DType);
        Assert.Equal("integer", g.FindProducer("cnn1__input_bias")!.Generic);
        Node cast = g.FindProducer("quant__input_quantize_per_tensor0")!;
        Assert.Equal("tract_core_cast", cast.Op);
        Assert.Empty(cast.Attributes);
    }

    [Fact]
    public void LlmExtensionsFragmentsAndReassignmentsAreLoweredDeterministically()
    {
        Graph g = NnefArchive.Read(Golden.File("llm", "llama", "export_f32", "model", "model.nnef.tgz"));
        Assert.Equal(["S", "P"], g.Symbols);
        Assert.Equal(
            ["P >= 0", "S >= 1", "S+P < 256", "tg: S==1", "pp: P==0"],
            g.Assertions.Select(a => a.ToString()));
        // Assertions compare by meaning, with their dimensions in normal form.
        Assert.Equal(Assertion.Parse("P + S < 256"), g.Assertions[2]);
        Assert.Equal("P+S < 256", (g.Assertions[2] with { Text = null }).ToString());
        Assert.Equal("tg", g.Assertions[3].Scenario);
        Assert.Equal(["input_ids", "in_cache_key_0", "in_cache_value_0", "in_cache_key_1", "in_cache_value_1"], g.Inputs);
        Assert.Equal(5, g.Outputs.Count);
        Assert.Equal([Dim.Of(1), Dim.Symbol("S")], g.GetInputShape("input_ids"));
        Assert.Equal([Dim.Of(1), Dim.Of(2), Dim.Symbol("P"), Dim.Of(16)], g.GetInputShape("in_cache_key_0"));

        // Static counts of the graph body (spec ops-in-goldens.md §2.1, llama export_f32 column).
        Assert.Equal(50, g.Nodes.Count(n => n.Op == "slice"));
        Assert.Equal(36, g.Nodes.Count(n => n.Op == "tract_core_shape_of"));
        Assert.Equal(23, g.Nodes.Count(n => n.Op == "variable"));
        Assert.Equal(15, g.Nodes.Count(n => n.Op == "linear"));
        Assert.Equal(43, g.Nodes.Count(n => n.Op == "tract_core_cast"));
        Assert.Equal(30, g.Nodes.Count(n => n.Op == "div"));

        // Unique value names; 10 identifiers are assigned twice, the first binding of each is renamed.
        List<string> outputs = [.. g.Nodes.SelectMany(n => n.Outputs)];
        Assert.Equal(outputs.Count, outputs.Distinct().Count());
        Assert.Equal(10, outputs.Count(o => o.EndsWith("__1", StringComparison.Ordinal)));
        Node firstShape = g.FindProducer("model_model__0_inputLayernorm_to0_shape__1")!;
        Node secondShape = g.FindProducer("model_model__0_inputLayernorm_to0_shape")!;
        Assert.True(g.Nodes.IndexOf(firstShape) < g.Nodes.IndexOf(secondShape));
        Assert.Equal(Arg.Ref("model_model__0_inputLayernorm_to0_shape__1"), g.FindProducer("model_model__0_inputLayernorm_to0_shape_sliced0")!.Inputs[0]);
        Assert.Equal(Arg.Ref("model_model__0_inputLayernorm_to0_shape"), g.FindProducer("model_model__0_inputLayernorm_to0_shape_sliced1")!.Inputs[0]);

        Assert.Equal(
            ["dyn_slice", "within_bound_index", "dyn_slice_begin", "scaled_dot_product_attention_4d_masked_with_scale_f32", "silu"],
            g.Fragments.Select(f => f.Name));
        Fragment silu = g.Fragments.Single(f => f.Name == "silu");
        Assert.Equal(["input"], silu.Parameters.Select(p => p.Name));
        Assert.Equal("tensor<scalar>", silu.Parameters[0].Type);
        // output = input * sigmoid(input): the nested call first, then the product.
        List<Node> siluBody = silu.Body!;
        Assert.Equal(["sigmoid", "mul"], siluBody.Select(n => n.Op));
        Assert.Equal([Arg.Ref("input"), Arg.Ref(siluBody[0].Outputs[0])], siluBody[1].Inputs);
        Assert.Equal(["output"], siluBody[1].Outputs);

        Fragment bound = g.Fragments.Single(f => f.Name == "within_bound_index");
        // bounded_index = tract_core_cast(min(max(0, offset + index), input_axis_size), to="tdim")
        List<Node> body = bound.Body!;
        Assert.Equal(["ge", "select", "add", "max", "min", "tract_core_cast"], body.Select(n => n.Op));
        Assert.Equal([Arg.Ref("offset"), Arg.Ref("index")], body[2].Inputs);
        Assert.Equal([Arg.Int(0), Arg.Ref(body[2].Outputs[0])], body[3].Inputs);
        Assert.Equal(Arg.String("tdim"), body[5].GetAttribute("to"));
        Assert.Equal(["bounded_index"], body[5].Outputs);

        Node mask = g.FindProducer("triu0")!;
        Assert.Equal(Arg.Bool(true), mask.GetAttribute("upper"));
        Assert.Equal(Arg.Int(1), mask.GetAttribute("k"));
        Node sdpa = g.Nodes.Single(n => n.Outputs[0] == "model_model__0_selfAttn_attnOutputScaledDotProductAttention0");
        Assert.Equal(5, sdpa.Inputs.Count);
        Assert.Equal(Arg.Float(0.25), g.FindProducer("model_model__0_selfAttn_c45_aligned_rank_expanded")!.Inputs[0]);
    }
}
