using TorchToNnef.IO;

namespace TorchToNnef.Core.Tests.IO;

public class TerminalTextTests
{
    [Theory]
    [InlineData("plain name.weight", "plain name.weight")]
    [InlineData("caf\u00e9 \U0001F600", "caf\u00e9 \U0001F600")]
    [InlineData("a\u001b[31mb", @"a\x1b[31mb")]
    [InlineData("a\r\nb\tc\0", @"a\r\nb\tc\0")]
    [InlineData("del\u007f c1\u0085\u009b", @"del\x7f c1\x85\x9b")]
    [InlineData("rlo\u202Eiso\u2066lrm\u200E", @"rlo\u202eiso\u2066lrm\u200e")]
    public void ControlsAreEscapedEverythingElseIsKept(string text, string expected)
    {
        Assert.Equal(expected, TerminalText.Escape(text));
    }

    [Fact]
    public void LoneSurrogatesAreEscapedAndPairsKept()
    {
        Assert.Equal(@"lone\ud800x\udc00", TerminalText.Escape("lone" + '\uD800' + "x" + '\uDC00'));
        Assert.Equal("pair\U0001F600", TerminalText.Escape("pair\U0001F600"));
    }

    [Fact]
    public void LineFeedsCanBeKeptForWholeMessages()
    {
        Assert.Equal("a\nb\\r", TerminalText.Escape("a\nb\r", keepLineFeeds: true));
    }
}
