using System.IO.Compression;
using System.Text.Json;
using TorchToNnef.Formats.Numpy;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Numpy;

/// <summary>
/// Every golden <c>.npy</c> and <c>.npz</c> is read and checked against independent records: the <c>io.json</c>
/// listings, the token ids of <c>hf_io.json</c>, numpy's own header bytes (rewriting must reproduce the file), the
/// structure of the LLM I/O archives, and the logits difference the generator recorded.
/// </summary>
public class NumpyGoldenTests
{
    [Fact]
    public void EveryNpyRewritesToTheSameBytes()
    {
        string[] files = Directory.GetFiles(Golden.Dir, "*.npy", SearchOption.AllDirectories);
        AssertListed(".npy", files);
        foreach (string path in files)
        {
            using Tensor t = NpyFile.Read(path);
            using var rewritten = new MemoryStream();
            NpyFile.Write(rewritten, t);
            Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(rewritten.ToArray()), $"{path} does not round-trip byte for byte");
        }
    }

    [Fact]
    public void EveryNpzEntryRewritesToTheSameBytes()
    {
        string[] files = Directory.GetFiles(Golden.Dir, "*.npz", SearchOption.AllDirectories);
        AssertListed(".npz", files);
        foreach (string path in files)
        {
            using var zip = ZipFile.OpenRead(path);
            IReadOnlyList<(string Name, Tensor Tensor)> arrays = NpzArchive.Read(path);
            try
            {
                Assert.Equal(zip.Entries.Select(e => e.FullName), arrays.Select(a => a.Name + ".npy"));
                foreach ((string name, Tensor tensor) in arrays)
                {
                    using var raw = new MemoryStream();
                    using (Stream s = zip.GetEntry(name + ".npy")!.Open())
                    {
                        s.CopyTo(raw);
                    }

                    using var rewritten = new MemoryStream();
                    NpyFile.Write(rewritten, tensor);
                    Assert.True(raw.ToArray().AsSpan().SequenceEqual(rewritten.ToArray()), $"{path}: {name}");
                }
            }
            finally
            {
                Dispose(arrays);
            }
        }
    }

    [Fact]
    public void ExportArraysMatchIoJson()
    {
        int checkedFiles = 0;
        foreach (string folder in GoldenManifest.ExportFolders.Select(f => Golden.File(f)))
        {
            using JsonDocument io = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "io.json")));
            foreach (string group in new[] { "inputs", "outputs", "extra_outputs" })
            {
                foreach (JsonElement item in io.RootElement.GetProperty(group).EnumerateArray())
                {
                    using Tensor t = NpyFile.Read(Path.Combine(folder, item.GetProperty("file").GetString()!));
                    Assert.Equal(NumpyName(item.GetProperty("dtype").GetString()!), t.DType);
                    Assert.Equal(item.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), t.Shape.ToArray());
                    checkedFiles++;
                }
            }
        }

        // Every export-folder .npy is listed in its io.json, and is one the manifests list.
        int onDisk = Directory.GetDirectories(Golden.Dir, "export_*").Sum(f => Directory.GetFiles(f, "*.npy").Length);
        int listed = GoldenManifest.ExportFolders.Sum(f => GoldenManifest.FilesEndingWith(".npy", f).Count);
        Assert.True(listed > 0);
        Assert.Equal(listed, onDisk);
        Assert.Equal(onDisk, checkedFiles);
    }

    [Fact]
    public void LlmReferenceArraysAgreeWithTokenIdsAndRecordedLogitDifferences()
    {
        int bundles = 0;
        foreach (string model in LlmModels())
        {
            string reference = Path.Combine(model, "reference");
            using JsonDocument hfIo = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(reference, "hf_io.json")));
            long[] tokens = hfIo.RootElement.GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt64()).ToArray();

            using Tensor ids = NpyFile.Read(Path.Combine(reference, "input_ids.npy"));
            Assert.Equal(Shape.Of(1, tokens.Length), ids.Shape);
            Assert.Equal(tokens, ids.AsSpan<long>().ToArray());

            using Tensor logits = NpyFile.Read(Path.Combine(reference, "logits.npy"));
            int vocab = (int)logits.Shape[2];
            ReadOnlySpan<float> last = logits.AsSpan<float>().Slice((tokens.Length - 1) * vocab, vocab);

            foreach (JsonProperty mode in hfIo.RootElement.GetProperty("modes").EnumerateObject())
            {
                int s = mode.Value.GetProperty("S").GetInt32(), p = mode.Value.GetProperty("P").GetInt32();
                var arrays = NpzArchive.Read(Path.Combine(reference, $"hf_{mode.Name}_io.npz")).ToDictionary(a => a.Name, a => a.Tensor);
                try
                {
                    Assert.Equal(tokens[p..(p + s)], arrays["input_ids"].AsSpan<long>().ToArray());

                    // The generator recorded max |outputs - logits[last]| as an f32 value; recompute it exactly.
                    ReadOnlySpan<float> outputs = arrays["outputs"].AsSpan<float>();
                    float maxAbs = 0;
                    for (int i = 0; i < vocab; i++)
                    {
                        maxAbs = MathF.Max(maxAbs, MathF.Abs(outputs[i] - last[i]));
                    }

                    Assert.Equal((float)mode.Value.GetProperty("max_abs_vs_full_forward_last_logits").GetDouble(), maxAbs);
                    bundles++;
                }
                finally
                {
                    Dispose(arrays.Select(kv => (kv.Key, kv.Value)).ToList());
                }
            }
        }

        int expected = GoldenManifest.Files.Count(f => f.Contains("/reference/hf_", StringComparison.Ordinal) && f.EndsWith("_io.npz", StringComparison.Ordinal));
        Assert.True(expected > 0);
        Assert.Equal(expected, bundles);
    }

    [Fact]
    public void LlmIoArchivesHoldInputsThenOutputsWithConsistentCaches()
    {
        string[] archives = Directory.GetFiles(Golden.File("llm"), "*_io.npz", SearchOption.AllDirectories);
        IReadOnlyList<string> listed = GoldenManifest.FilesEndingWith("_io.npz", "llm");
        Assert.NotEmpty(listed);
        Assert.Equal(listed, archives.Select(GoldenManifest.Relative).Order(StringComparer.Ordinal));
        foreach (string path in archives)
        {
            string modelDir = FindModelDir(path);
            using JsonDocument config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(modelDir, "hf", "config.json")));
            int layers = config.RootElement.GetProperty("num_hidden_layers").GetInt32();
            int kvHeads = config.RootElement.GetProperty("num_key_value_heads").GetInt32();
            int vocab = config.RootElement.GetProperty("vocab_size").GetInt32();

            IReadOnlyList<(string Name, Tensor Tensor)> arrays = NpzArchive.Read(path);
            try
            {
                var expectedNames = new List<string> { "input_ids" };
                for (int i = 0; i < layers; i++)
                {
                    expectedNames.AddRange([$"in_cache_key_{i}", $"in_cache_value_{i}"]);
                }

                expectedNames.Add("outputs");
                for (int i = 0; i < layers; i++)
                {
                    expectedNames.AddRange([$"out_cache_key_{i}", $"out_cache_value_{i}"]);
                }

                Assert.Equal(expectedNames, arrays.Select(a => a.Name));
                var byName = arrays.ToDictionary(a => a.Name, a => a.Tensor);
                long s = byName["input_ids"].Shape[1];
                Assert.Equal(DType.I64, byName["input_ids"].DType);
                Assert.Equal(Shape.Of(1, 1, vocab), byName["outputs"].Shape);
                foreach (string kind in new[] { "key", "value" })
                {
                    for (int i = 0; i < layers; i++)
                    {
                        Tensor past = byName[$"in_cache_{kind}_{i}"], present = byName[$"out_cache_{kind}_{i}"];
                        long p = past.Shape[2], headDim = past.Shape[3];
                        Assert.Equal(new Shape(1, kvHeads, p, headDim), past.Shape);
                        Assert.Equal(new Shape(1, kvHeads, p + s, headDim), present.Shape);

                        // The present cache starts with the past cache, unchanged, for every head.
                        for (int h = 0; h < kvHeads; h++)
                        {
                            ReadOnlySpan<float> before = past.AsSpan<float>().Slice((int)(h * p * headDim), (int)(p * headDim));
                            ReadOnlySpan<float> after = present.AsSpan<float>().Slice((int)(h * (p + s) * headDim), (int)(p * headDim));
                            Assert.True(before.SequenceEqual(after), $"{path}: {kind} cache {i} head {h} changed its past");
                        }
                    }
                }
            }
            finally
            {
                Dispose(arrays);
            }
        }
    }

    private static string FindModelDir(string path)
    {
        for (string? dir = Path.GetDirectoryName(path); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (Directory.Exists(Path.Combine(dir, "hf")))
            {
                return dir;
            }
        }

        throw new DirectoryNotFoundException($"no model folder above {path}");
    }

    private static IEnumerable<string> LlmModels() =>
        GoldenManifest.LlmModels.Select(m => Golden.File("llm", m, "reference")).Select(d => Path.GetDirectoryName(d)!);

    // The files found on disk are exactly the ones the manifests list (none missing, none extra, never zero).
    private static void AssertListed(string suffix, string[] found)
    {
        IReadOnlyList<string> listed = GoldenManifest.FilesEndingWith(suffix);
        Assert.NotEmpty(listed);
        Assert.Equal(listed, found.Select(GoldenManifest.Relative).Order(StringComparer.Ordinal));
    }

    private static DType NumpyName(string name) => name switch
    {
        "float32" => DType.F32,
        "float16" => DType.F16,
        "float64" => DType.F64,
        "int64" => DType.I64,
        "int32" => DType.I32,
        "int8" => DType.I8,
        "uint8" => DType.U8,
        "bool" => DType.Bool,
        _ => throw new ArgumentException($"unexpected dtype {name} in io.json"),
    };

    private static void Dispose(IEnumerable<(string, Tensor Tensor)> arrays)
    {
        foreach ((_, Tensor t) in arrays)
        {
            t.Dispose();
        }
    }
}
