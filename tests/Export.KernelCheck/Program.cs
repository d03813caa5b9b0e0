using System.Runtime.Intrinsics;
using TorchToNnef.Export.Evaluation.Kernels;

// Exit code = number of failing cases; prints which vector widths the JIT accelerated in this process.
Console.WriteLine($"Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}, Vector128 {Vector128.IsHardwareAccelerated}");
return GemmCheck.Run(Console.Out);
