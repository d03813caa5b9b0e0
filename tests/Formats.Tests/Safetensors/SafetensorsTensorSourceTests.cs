using System.Runtime.InteropServices;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Safetensors;

/// <summary>
/// Checkpoint tensors as variable sources: a safetensors file copied into an NNEF archive through
/// <see cref="SafetensorsTensorSource"/> (bf16 through <see cref="ConvertedTensorSource"/>) reads back unchanged.
/// </summary>
public class SafetensorsTensorSourceTests
{
    [Theory]
    [InlineData("model.nnef.tgz")]
    [InlineData("model.nnef.tar")]
    [InlineData("model")]
    public void ACheckpointCopiedThroughSourcesReadsBackUnchanged(string output)
    {
        using var dir = new TempDir();
        float[] a = Enumerable.Range(0, 64 * 96).Select(i => (i % 251) * 0.125f - 15f).ToArray();
        Half[] b = Enumerable.Range(0, 300).Select(i => (Half)(i * -0.5f)).ToArray();
        ushort[] c = Enumerable.Range(0, 128).Select(i => BFloat16Conversions.FromSingle(i * 0.25f)).ToArray();
        using Tensor ta = Tensor.FromFloats(Shape.Of(64, 96), a);
        using Tensor tb = Tensor.FromSpan(DType.F16, Shape.Of(300), b);
        using Tensor tc = Tensor.FromSpan(DType.BF16, Shape.Of(4, 32), c);
        string checkpoint = dir.File("model.safetensors");
        SafetensorsWriter.Write(checkpoint, [("layers.0.w", ta), ("b", tb), ("c", tc)]);

        using (SafetensorsCheckpoint st = SafetensorsCheckpoint.Open(checkpoint))
        {
            SafetensorsTensorSource source = st.GetSource("layers.0.w");
            Assert.Equal(DType.F32, source.DType);
            var raw = new MemoryStream();
            source.WriteTo(raw);
            Assert.Equal(MemoryMarshal.AsBytes(a.AsSpan()).ToArray(), raw.ToArray());

            var graph = new Graph();
            foreach (SafetensorsEntry e in st.Entries)
            {
                TensorSource s = st.GetSource(e.Name);
                graph.AddVariable(e.Name.Replace('.', '_'), e.Name, e.DType == DType.BF16 ? new ConvertedTensorSource(s, DType.F16) : s);
                graph.Outputs.Add(e.Name.Replace('.', '_'));
            }

            NnefArchive.Write(graph, dir.File(output));
        }

        Graph back = NnefArchive.Read(dir.File(output));
        using (Tensor wa = back.Variables["layers_0_w"].Source.Open())
        {
            Assert.Equal(a, wa.AsSpan<float>().ToArray());
        }

        using (Tensor wb = back.Variables["b"].Source.Open())
        {
            Assert.Equal(b, wb.AsSpan<Half>().ToArray());
        }

        using Tensor wc = back.Variables["c"].Source.Open();
        Assert.Equal(DType.F16, wc.DType);
        Assert.Equal(c.Select(v => (Half)BFloat16Conversions.ToSingle(v)), wc.AsSpan<Half>().ToArray());
    }
}
