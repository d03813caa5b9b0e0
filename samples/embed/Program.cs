// Embeds TorchToNnef as a library: quantizes a safetensors checkpoint to tract Q4_0 .dat files, then verifies the
// result independently: every file is read back, dequantized and compared with the float weights it came from.
using TorchToNnef.Export.Pipeline;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Quant;
using TorchToNnef.Tensors;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: embed <model.safetensors> <output folder>");
    return 2;
}

QuantizeCheckpointResult result = ModelPipeline.QuantizeCheckpoint(
    args[0], args[1], new QuantizeCheckpointOptions { SkipIneligible = true, MeasureErrors = true, Overwrite = true });
Console.WriteLine($"quantized {result.Tensors.Count} tensor(s), {result.SourceBytes} -> {result.WrittenBytes} bytes; kept {result.Skipped.Count} in float");

using SafetensorsFile source = SafetensorsFile.Open(args[0]);
int failures = 0;
foreach (QuantizedTensorFile written in result.Tensors)
{
    using Tensor original = source.GetTensor(written.Name);
    using Tensor q40 = DatFile.Read(Path.Combine(result.OutputDirectory, written.FileName), written.Name);
    float[] expected = original.ToFloatArray();
    float[] got = new float[expected.Length];
    Q40Dequantizer.ToSingle(q40.AsSpan<byte>(), got);
    var errors = new Q40ErrorStats();
    errors.Add(expected, got);
    // Same figures as the quantizer measured (up to the order of the sums: it adds chunks measured in parallel), and
    // the accuracy Q4_0 gives on weight-like values (above 15 dB).
    bool sameRmse = Math.Abs(errors.Rmse - written.Errors!.Rmse) <= 1e-9 * Math.Max(errors.Rmse, 1e-30);
    bool ok = q40.Shape == original.Shape && sameRmse && errors.SqnrDb > 15;
    failures += ok ? 0 : 1;
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {written.Name}: SQNR {errors.SqnrDb:F1} dB, max abs error {errors.MaxAbsError:G3}");
}

Console.WriteLine(failures == 0 ? "verified" : $"{failures} tensor(s) failed");
return failures == 0 ? 0 : 1;
