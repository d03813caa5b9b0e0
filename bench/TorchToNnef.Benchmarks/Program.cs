using BenchmarkDotNet.Running;

// Pick suites with --filter, e.g. --filter '*EvaluatorBenchmarks*'. 'q40-quality' prints the calibration error report;
// 'llm-reference' generates a synthetic 1.1B checkpoint and times the LLM reference forward pass on it;
// 'gen-llm-checkpoint --dir DIR [--size 1.1b|7b|7b-2l|8b|8b-2l|7b-<N>l|8b-<N>l|tiny]' writes that checkpoint for bench/llm-export.sh;
// 'llm-export-parts --dir DIR [--runs N]' times export-llm's stages on it in one process (read, kernel, quantize, export);
// 'llm-verify-memory --dir DIR [--collect]' shows peak RSS, allocations and collections of each verification phase;
// 'llm-eval-alloc --archive DIR [--tokens N]' attributes an evaluator run's allocations to operators and statements;
// 'onnx-load' times loading ONNX models and streaming their tensors, with peak RSS; 'onnx-models' exports each real
// ONNX model (time, f32 and Q40 archive sizes) and times our evaluator against ONNX Runtime on it, one thread each;
// 'onnx-profile [--runs N] [--top K] id...' breaks our evaluator's time on those models down by operator and statement;
// 'onnx-loop id [--seconds S] [--batch N]' runs our evaluator alone on one of them in a loop (time and bytes per run);
// 'llama decode|prompt [steps]' times the evaluator on a Llama-shaped graph and reports peak RSS;
// 'fresh-output [--held-mib N]' shows what a fresh 16 MiB output array costs per run beside a large heap (page faults).
// gen-safetensors, gen-nnef-tgz and copy-safetensors serve bench/streaming-memory.sh; 'gen-onnx-chain DIR MIB
// [--external]' writes a chain of MatMuls by 64 MiB weights for scripts/export-peak-rss.sh.
if (args is ["q40-quality", ..])
{
    TorchToNnef.Benchmarks.Q40Quality.Run();
    return;
}

if (args is ["onnx-load", ..])
{
    TorchToNnef.Benchmarks.OnnxLoadRun.Run(args[1..]);
    return;
}

if (args is ["gen-onnx-chain", ..])
{
    TorchToNnef.Benchmarks.OnnxChainWriter.Run(args[1..]);
    return;
}

if (args is ["gen-llm-checkpoint", ..])
{
    TorchToNnef.Benchmarks.LlmReferenceRun.GenerateOnly(args[1..]);
    return;
}

if (args is ["onnx-models", ..])
{
    TorchToNnef.Benchmarks.OnnxModelsRun.Run(args[1..]);
    return;
}

if (args is ["llm-export-parts", ..])
{
    TorchToNnef.Benchmarks.LlmExportParts.Run(args[1..]);
    return;
}

if (args is ["llm-verify-memory", ..])
{
    TorchToNnef.Benchmarks.LlmVerifyMemory.Run(args[1..]);
    return;
}

if (args is ["llm-eval-alloc", ..])
{
    TorchToNnef.Benchmarks.LlmEvalAlloc.Run(args[1..]);
    return;
}

if (args is ["onnx-profile", ..])
{
    TorchToNnef.Benchmarks.OnnxProfileRun.Run(args[1..]);
    return;
}

if (args is ["onnx-loop", ..])
{
    TorchToNnef.Benchmarks.OnnxLoopRun.Run(args[1..]);
    return;
}

if (args is ["fresh-output", ..])
{
    TorchToNnef.Benchmarks.FreshOutputRun.Run(args[1..]);
    return;
}

if (args is ["llm-reference", ..])
{
    TorchToNnef.Benchmarks.LlmReferenceRun.Run(args[1..]);
    return;
}

if (args is ["llama", ..])
{
    TorchToNnef.Benchmarks.Llama.LlamaRun.Run(args);
    return;
}

// Generators and the measured copy of bench/streaming-memory.sh (peak RSS needs a process of its own).
if (TorchToNnef.Benchmarks.Streaming.StreamingTools.TryRun(args))
{
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point marker for <see cref="BenchmarkSwitcher"/>.</summary>
public partial class Program;
