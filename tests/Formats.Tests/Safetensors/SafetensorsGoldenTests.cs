using System.Security.Cryptography;
using System.Text.Json;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Safetensors;

/// <summary>
/// Every golden <c>.safetensors</c> file is read and its values checked bit for bit against data written
/// independently: manifest hashes, dtypes and shapes, the Q40 <c>.dat</c> bytes and the NNEF <c>.dat</c> files the
/// reference tool wrote from the same weights.
/// </summary>
public class SafetensorsGoldenTests
{
    [Fact]
    public void EveryGoldenFileOpensAndIsCheckedByOneOfTheTestsBelow()
    {
        var covered = new HashSet<string>(Q40Files().Concat(ExportFolders().Select(f => Path.Combine(f, "weights.safetensors")))
            .Concat(LlmModels().Select(m => Path.Combine(m, "hf", "model.safetensors"))).Select(Path.GetFullPath));
        string[] all = Directory.GetFiles(Golden.Dir, "*.safetensors", SearchOption.AllDirectories);
        IReadOnlyList<string> listed = GoldenManifest.FilesEndingWith(".safetensors");
        Assert.NotEmpty(listed);
        Assert.Equal(listed, all.Select(GoldenManifest.Relative).Order(StringComparer.Ordinal));
        foreach (string path in all)
        {
            Assert.Contains(Path.GetFullPath(path), covered);
            using SafetensorsFile file = SafetensorsFile.Open(path);
            Assert.NotEmpty(file.Entries);
            Assert.Equal(file.FileLength, 8 + file.HeaderLength + file.Entries.Sum(e => e.ByteLength));
        }
    }

    [Fact]
    public void Q40InputsMatchTheManifest()
    {
        using JsonDocument manifest = ReadJson(Golden.File("q40", "manifest.json"));
        JsonElement root = manifest.RootElement;
        int n = 0;
        foreach (JsonElement c in root.GetProperty("cases").EnumerateArray().Concat(root.GetProperty("error_cases").EnumerateArray()))
        {
            string path = Golden.File("q40", c.GetProperty("input_file").GetString()!);
            Assert.Equal(c.GetProperty("input_sha256").GetString(), Sha256(path));
            using SafetensorsFile file = SafetensorsFile.Open(path);
            SafetensorsEntry e = file.GetEntry(c.GetProperty("tensor_name").GetString()!);
            Assert.Equal(c.GetProperty("dtype").GetString(), SafetensorsDTypes.Name(e.DType));
            Assert.Equal(c.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), e.Shape.ToArray());
            n++;
        }

        Assert.Equal(root.GetProperty("cases").GetArrayLength() + root.GetProperty("error_cases").GetArrayLength(), n);
    }

    [Fact]
    public void Q40DequantFilesRebuildTheDatBytesAndTheInputScales()
    {
        using JsonDocument manifest = ReadJson(Golden.File("q40", "manifest.json"));
        Assert.Equal(22, manifest.RootElement.GetProperty("cases").GetArrayLength());
        foreach (JsonElement c in manifest.RootElement.GetProperty("cases").EnumerateArray())
        {
            string id = c.GetProperty("id").GetString()!;
            string dequantPath = Golden.File("q40", c.GetProperty("dequant_file").GetString()!);
            Assert.Equal(c.GetProperty("dequant_sha256").GetString(), Sha256(dequantPath));
            using SafetensorsFile dq = SafetensorsFile.Open(dequantPath);
            Assert.Equal(
                c.GetProperty("dequant_tensors").EnumerateArray().Select(t => t.GetString()!).Order(),
                dq.Entries.Select(e => e.Name).Order());

            using Tensor codes = dq.GetTensor("codes");
            using Tensor scale = dq.GetTensor("scale");
            Assert.Equal(DType.U8, codes.DType);
            Assert.Equal(DType.F16, scale.DType);
            Assert.Equal(c.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), codes.Shape.ToArray());
            Assert.Equal(c.GetProperty("n_groups").GetInt64(), scale.ElementCount);

            // The .dat payload is, per group, the f16 scale then 16 nibble bytes: an independent byte-level record.
            foreach (JsonElement dat in c.GetProperty("dat_files").EnumerateArray())
            {
                bool legacy = dat.GetProperty("nibble_order").GetString()!.StartsWith("legacy", StringComparison.Ordinal);
                byte[] file = File.ReadAllBytes(Golden.File("q40", dat.GetProperty("file").GetString()!));
                Assert.Equal(file.AsSpan(DatHeader.Size).ToArray(), PackQ40(scale.Bytes, codes.Bytes, legacy));
            }

            // dequant_f32 (or dequant, for f32 inputs) is (code - 8) * scale computed in f32.
            using Tensor f32 = dq.GetTensor(dq.TryGetEntry("dequant_f32", out _) ? "dequant_f32" : "dequant");
            ReadOnlySpan<float> values = f32.AsSpan<float>();
            ReadOnlySpan<Half> scales = scale.AsSpan<Half>();
            ReadOnlySpan<byte> code = codes.Bytes;
            for (int i = 0; i < values.Length; i++)
            {
                float expected = (code[i] - 8) * (float)scales[i / 32];
                Assert.True(BitEqualOrBothNaN(expected, values[i]), $"{id}: dequant[{i}] = {values[i]}, expected {expected}");
            }

            CheckScalesAgainstInput(c, id, scales);
        }
    }

    [Fact]
    public void ExportWeightsEqualTheExportedDatFiles()
    {
        int folders = 0, compared = 0;
        foreach (string folder in ExportFolders())
        {
            folders++;
            string path = Path.Combine(folder, "weights.safetensors");
            using JsonDocument manifest = ReadJson(Path.Combine(folder, "manifest.json"));
            JsonElement files = manifest.RootElement.GetProperty("files");
            Assert.Equal(
                files.EnumerateArray().Single(f => f.GetProperty("path").GetString() == "weights.safetensors").GetProperty("sha256").GetString(),
                Sha256(path));
            if (Path.GetFileName(folder) == "export_ptq_conv1d_q8")
            {
                continue; // Its .dat files hold int8 codes of the PTQ model, not these float weights; the hash above is the check.
            }

            using SafetensorsFile file = SafetensorsFile.Open(path);
            string nnef = Path.Combine(folder, "nnef");
            var unmatched = new List<string>();
            foreach (SafetensorsEntry e in file.Entries)
            {
                string? dat = ExportDatFor(nnef, e.Name);
                if (dat is null)
                {
                    unmatched.Add(e.Name);
                    continue;
                }

                using Tensor expected = DatFile.Read(dat);
                using Tensor actual = file.GetTensor(e);
                Assert.Equal(expected.ElementCount, actual.ElementCount);
                if (expected.DType.IsBlockQuantized())
                {
                    Assert.Equal(expected.Shape, actual.Shape); // Q40 .dat headers carry the logical shape.
                }
                else
                {
                    Assert.Equal(expected.DType, actual.DType);
                    Assert.True(expected.Bytes.SequenceEqual(actual.Bytes), $"{path}: {e.Name} differs from {dat}");
                }

                compared++;
            }

            // BatchNorm's step counter is the only state an eval-mode export leaves out.
            Assert.All(unmatched, n => Assert.EndsWith(".num_batches_tracked", n, StringComparison.Ordinal));
        }

        Assert.Equal(GoldenManifest.ExportFolders.Count, folders);
        Assert.True(compared > 0, "no weight was compared with a .dat file");
    }

    [Fact]
    public void LlmCheckpointsEqualTheF32ExportDatFiles()
    {
        int models = 0;
        foreach (string model in LlmModels())
        {
            models++;
            string path = Path.Combine(model, "hf", "model.safetensors");
            using JsonDocument config = ReadJson(Path.Combine(model, "hf", "config.json"));
            bool tied = config.RootElement.TryGetProperty("tie_word_embeddings", out JsonElement t) && t.GetBoolean();
            string nnef = Path.Combine(model, "export_f32", "model", "nnef");
            using SafetensorsFile file = SafetensorsFile.Open(path);
            Assert.Equal("pt", file.Metadata["format"]);
            int matched = 0;
            foreach (SafetensorsEntry e in file.Entries)
            {
                // The exporter labels a parameter "model." + its HF name; a tied embedding is written once, under
                // either of the two names that share it.
                string dat = Path.Combine(nnef, "model." + e.Name + ".dat");
                if (tied && e.Name == "model.embed_tokens.weight" && !File.Exists(dat))
                {
                    dat = Path.Combine(nnef, "model.lm_head.weight.dat");
                }

                using Tensor actual = file.GetTensor(e);
                if (!File.Exists(dat))
                {
                    // RMSNorm weights are still at their initial value 1 in these random models; the traced graph
                    // folded them away, so there is no .dat. Check the value instead of skipping.
                    Assert.Contains("norm", e.Name, StringComparison.Ordinal);
                    Assert.All(actual.AsSpan<float>().ToArray(), v => Assert.Equal(1.0f, v));
                    continue;
                }

                using Tensor expected = DatFile.Read(dat);
                Assert.Equal(expected.DType, actual.DType);
                Assert.Equal(expected.Shape, actual.Shape);
                Assert.True(expected.Bytes.SequenceEqual(actual.Bytes), $"{path}: {e.Name} differs from {dat}");
                matched++;
            }

            // Every tensor but the norm weights has its .dat (enforced above); make sure that is not zero of them.
            Assert.Equal(file.Entries.Count(e => !e.Name.Contains("norm", StringComparison.Ordinal)), matched);
            Assert.True(matched > 0);
        }

        Assert.Equal(GoldenManifest.LlmModels.Count, models);
    }

    private static void CheckScalesAgainstInput(JsonElement c, string id, ReadOnlySpan<Half> scales)
    {
        if (c.GetProperty("percentile").GetDouble() != 1.0)
        {
            return; // Percentile scales come from torch.quantile; the Q40 tests own that rule.
        }

        // With percentile 1 the scale is f16(absmax(group) / -8); dividing by 8 is exact in every input dtype, so
        // one rounding of the f32 quotient to f16 reproduces it. This checks the f32/f16/bf16 input values.
        using SafetensorsFile input = SafetensorsFile.Open(Golden.File("q40", c.GetProperty("input_file").GetString()!));
        using Tensor x = input.GetTensor(c.GetProperty("tensor_name").GetString()!);
        float[] values = x.ToFloatArray();
        for (int g = 0; g < scales.Length; g++)
        {
            float absmax = 0;
            for (int i = g * 32; i < g * 32 + 32; i++)
            {
                absmax = MathF.Max(absmax, MathF.Abs(values[i]));
            }

            Half expected = (Half)(-absmax / 8);
            Assert.True(BitConverter.HalfToUInt16Bits(expected) == BitConverter.HalfToUInt16Bits(scales[g]),
                $"{id}: group {g} scale {scales[g]}, expected {expected}");
        }
    }

    private static byte[] PackQ40(ReadOnlySpan<byte> scaleBytes, ReadOnlySpan<byte> codes, bool legacy)
    {
        int groups = codes.Length / 32;
        var packed = new byte[groups * 18];
        for (int g = 0; g < groups; g++)
        {
            Span<byte> block = packed.AsSpan(g * 18, 18);
            scaleBytes.Slice(g * 2, 2).CopyTo(block);
            ReadOnlySpan<byte> c = codes.Slice(g * 32, 32);
            for (int j = 0; j < 16; j++)
            {
                block[2 + j] = legacy ? (byte)(c[2 * j] | c[2 * j + 1] << 4) : (byte)(c[j] | c[j + 16] << 4);
            }
        }

        return packed;
    }

    private static string? ExportDatFor(string nnef, string name)
    {
        string direct = Path.Combine(nnef, name + ".dat");
        if (File.Exists(direct))
        {
            return direct;
        }

        // BatchNorm parameters are re-materialized under synthetic labels "<module>__<param>_...".
        int dot = name.LastIndexOf('.');
        string prefix = name[..dot] + "__" + name[(dot + 1)..] + "_";
        string[] found = Directory.GetFiles(nnef, prefix + "*.dat");
        return found.Length switch
        {
            0 => null,
            1 => found[0],
            _ => throw new InvalidOperationException($"{name}: several .dat files match {prefix}*"),
        };
    }

    private static IEnumerable<string> Q40Files()
    {
        using JsonDocument manifest = ReadJson(Golden.File("q40", "manifest.json"));
        JsonElement root = manifest.RootElement;
        var files = new List<string>();
        foreach (JsonElement c in root.GetProperty("cases").EnumerateArray())
        {
            files.Add(Golden.File("q40", c.GetProperty("input_file").GetString()!));
            files.Add(Golden.File("q40", c.GetProperty("dequant_file").GetString()!));
        }

        foreach (JsonElement c in root.GetProperty("error_cases").EnumerateArray())
        {
            files.Add(Golden.File("q40", c.GetProperty("input_file").GetString()!));
        }

        return files;
    }

    // The folders the manifests list, each of which must hold its file: a missing one fails, never shrinks the loop.
    private static IEnumerable<string> ExportFolders() =>
        GoldenManifest.ExportFolders.Select(f => Path.GetDirectoryName(Golden.File(f, "weights.safetensors"))!);

    private static IEnumerable<string> LlmModels() =>
        GoldenManifest.LlmModels.Select(m => Path.GetDirectoryName(Golden.File("llm", m, "hf"))!);

    private static bool BitEqualOrBothNaN(float a, float b) =>
        (float.IsNaN(a) && float.IsNaN(b)) || BitConverter.SingleToUInt32Bits(a) == BitConverter.SingleToUInt32Bits(b);

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static JsonDocument ReadJson(string path) => JsonDocument.Parse(File.ReadAllBytes(path));
}
