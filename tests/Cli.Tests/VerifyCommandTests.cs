using TorchToNnef.Formats.Numpy;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

public class VerifyCommandTests
{
    private static string Llama(params string[] parts) => Golden.File(["llm", "llama", "export_f32", .. parts]);

    [Fact]
    public void ABundleWithinToleranceExitsZeroAndReportsEveryOutput()
    {
        (int code, string output, string err) = CliRunner.Run("verify", Llama("model", "model.nnef.tgz"), "--io", Llama("tests", "prompt_io.npz"));
        Assert.True(code == 0, output + err);
        Assert.Contains("tolerance: approximate", output);
        foreach (string name in new[] { "outputs", "out_cache_key_0", "out_cache_value_0", "out_cache_key_1", "out_cache_value_1" })
        {
            Assert.Contains($"ok   {name}: max abs error", output);
        }

        Assert.Contains("outliers 0/512", output);
    }

    [Fact]
    public void SeparateNpyFilesOfAnExportFolderAreChecked()
    {
        string folder = Golden.File("export_ptq_conv1d_q8");
        (int code, string output, string err) = CliRunner.Run(
            "verify", Path.Combine(folder, "nnef"),
            "--input", "input=" + Path.Combine(folder, "input_input.npy"),
            "--output", "output=" + Path.Combine(folder, "output_output.npy"),
            "--tolerance", "exact");
        Assert.True(code == 0, output + err);
        Assert.Contains("ok   output: max abs error 0,", output);
    }

    [Fact]
    public void APerturbedReferenceFailsWithExitCodeOne()
    {
        using var tmp = new TempDir();
        string bundle = tmp.File("bad_io.npz");
        IReadOnlyList<(string Name, Tensor Tensor)> entries = NpzArchive.Read(Llama("tests", "text_generation_io.npz"));
        try
        {
            var edited = entries.Select(e =>
            {
                if (e.Name != "outputs")
                {
                    return e;
                }

                float[] v = e.Tensor.ToFloatArray();
                v[100] += 0.01f;
                return (e.Name, Tensor.FromFloats(e.Tensor.Shape, v));
            }).ToList();
            NpzArchive.Write(bundle, edited, compressed: true);
        }
        finally
        {
            foreach ((_, Tensor t) in entries)
            {
                t.Dispose();
            }
        }

        (int code, string output, string err) = CliRunner.Run("verify", Llama("model", "model.nnef.tgz"), "--io", bundle);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("FAIL outputs:", output);
        Assert.Contains("outliers 1/512", output);
        Assert.Contains("first outlier at [0, 0, 100]", output);
        Assert.Contains("1 of 5 output(s) outside 'approximate'", err);
    }

    [Fact]
    public void APlainRunWritesTheOutputsWhichThenVerify()
    {
        using var tmp = new TempDir();
        string outputs = tmp.File("out.npz");
        (int code, string output, string err) = CliRunner.Run("verify", Llama("model", "model.nnef.tgz"), "--inputs", Llama("tests", "prompt_io.npz"), "--out", outputs);
        Assert.True(code == 0, output + err);
        IReadOnlyList<(string Name, Tensor Tensor)> written = NpzArchive.Read(outputs);
        IReadOnlyList<(string Name, Tensor Tensor)> reference = NpzArchive.Read(Llama("tests", "prompt_io.npz"));
        try
        {
            Assert.Equal(["outputs", "out_cache_key_0", "out_cache_value_0", "out_cache_key_1", "out_cache_value_1"], written.Select(w => w.Name));
            foreach ((string name, Tensor t) in written)
            {
                float[] expected = reference.Single(r => r.Name == name).Tensor.ToFloatArray();
                float[] got = t.ToFloatArray();
                Assert.Equal(expected.Length, got.Length);
                Assert.All(expected.Zip(got), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4 + (5e-4 * Math.Abs(p.Second))));
            }
        }
        finally
        {
            foreach ((_, Tensor t) in written.Concat(reference))
            {
                t.Dispose();
            }
        }
    }

    [Fact]
    public void AnUnknownToleranceIsAUsageError()
    {
        (int code, _, string err) = CliRunner.Run("verify", Llama("model", "model.nnef.tgz"), "--io", Llama("tests", "prompt_io.npz"), "--tolerance", "loose");
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains("unknown tolerance 'loose'", err);
    }

    [Fact]
    public void AnInputOfTheWrongShapeIsAClearError()
    {
        string folder = Golden.File("export_cnn_f32");
        (int code, _, string err) = CliRunner.Run(
            "verify", Path.Combine(folder, "model.nnef.tgz"),
            "--input", "input=" + Golden.File("export_ptq_conv1d_q8", "input_input.npy"),
            "--output", "output=" + Path.Combine(folder, "output_output.npy"));
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("node 'input'", err);
        Assert.Contains("rank 4", err);
    }

    [Fact]
    public void ACompressedExportVerifiesAgainstTheReferenceQ40Bundles()
    {
        // t2n compress on the f32 export must give a model that computes what the reference Q4_0 export computes.
        using var tmp = new TempDir();
        string compressed = tmp.File("llama_q40.nnef.tgz");
        (int c, string o, string e) = CliRunner.Run("compress", "-i", Llama("model", "model.nnef.tgz"), "-o", compressed, "-c", "min_max_q4_0_with_embeddings");
        Assert.True(c == 0, o + e);
        foreach (string mode in new[] { "export", "prompt", "prompt_with_past", "text_generation" })
        {
            string bundle = Golden.File("llm", "llama", "export_min_max_q4_0_with_embeddings", "tests", $"{mode}_io.npz");
            (int code, string output, string err) = CliRunner.Run("verify", compressed, "--io", bundle);
            Assert.True(code == 0, mode + ": " + output + err);

            // Control: the same bundle rejects the model before compression, so passing above means something.
            (int uncompressed, string controlOutput, _) = CliRunner.Run("verify", Llama("model", "model.nnef.tgz"), "--io", bundle);
            Assert.True(uncompressed == CliApp.Failure, $"{mode}: the uncompressed f32 model passes the Q4_0 bundle:{Environment.NewLine}{controlOutput}");
            Assert.Contains("FAIL outputs:", controlOutput);
        }
    }

    [Fact]
    public void MalformedOrMissingFilesAreOneLineErrors()
    {
        using var tmp = new TempDir();
        string junk = tmp.File("junk.npz");
        File.WriteAllBytes(junk, [1, 2, 3, 4]);
        (int code, _, string err) = CliRunner.Run("verify", Llama("model", "model.nnef.tgz"), "--io", junk);
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("junk.npz", err);
        Assert.Single(err.TrimEnd().Split('\n'));

        (code, _, err) = CliRunner.Run("verify", tmp.File("missing.nnef.tgz"), "--io", Llama("tests", "prompt_io.npz"));
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("missing.nnef.tgz", err);
    }

    [Fact]
    public void ARedirectedRunPrintsNoProgress()
    {
        // The progress line is for a terminal: with stderr redirected (a CI log), stderr stays empty and no carriage
        // return reaches either stream. One thread, so the evaluation lasts as long as it can.
        (int code, string output, string err) = ChildCli.Run(
            new Dictionary<string, string>(), TimeSpan.FromMinutes(3),
            "verify", Llama("model", "model.nnef.tgz"), "--io", Llama("tests", "prompt_io.npz"), "--threads", "1");
        Assert.True(code == 0, output + err);
        Assert.Empty(err);
        Assert.DoesNotContain('\r', output);
        Assert.Contains("evaluated in", output, StringComparison.Ordinal);
    }
}
