using TorchToNnef.TestSupport;

namespace TorchToNnef.Core.Tests;

public class IsaMatrixTests
{
    [Fact]
    public void ConversionsMatchTheScalarReferenceWithEachHardwarePathSwitchedOff() =>
        IsaMatrix.Run(
            typeof(IsaMatrixTests).Assembly.Location,
            $"FullyQualifiedName~{nameof(BFloat16ConversionTests)}|FullyQualifiedName~{nameof(FloatConversionTests)}");
}
