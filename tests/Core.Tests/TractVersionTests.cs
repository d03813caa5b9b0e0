namespace TorchToNnef.Core.Tests;

public class TractVersionTests
{
    [Theory]
    [InlineData("0.21.10", false)]
    [InlineData("0.21.11", true)]
    [InlineData("v0.22.0", true)]
    [InlineData("0.23.6-pre", true)]
    [InlineData("0.9.20", false)]
    public void Q40OrderIsGatedAt0_21_11(string text, bool ggml) => Assert.Equal(ggml, TractVersion.Parse(text).UsesGgmlQ40Order);

    [Fact]
    public void ComparesNumericallyNotLexically()
    {
        Assert.True(TractVersion.Parse("0.21.13") > TractVersion.Parse("0.21.9"));
        Assert.True(TractVersion.Parse("0.100.0") > TractVersion.Latest);
        Assert.Equal("0.22.0", TractVersion.Latest.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("0.22")]
    [InlineData("a.b.c")]
    [InlineData("0.22.0.1")]
    public void RejectsMalformed(string text) => Assert.False(TractVersion.TryParse(text, out _));
}
