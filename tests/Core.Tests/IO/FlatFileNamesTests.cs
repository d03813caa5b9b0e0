using System.Text;
using TorchToNnef.IO;

namespace TorchToNnef.Core.Tests.IO;

public class FlatFileNamesTests
{
    [Fact]
    public void SafeNamesAreKeptAndEveryOtherNameGetsItsOwnFile()
    {
        var names = new FlatFileNames(".dat");
        Assert.Equal("model.layers.0.weight.dat", names.Get("model.layers.0.weight"));
        Assert.True(names.IsVerbatim("model.layers.0.weight"));
        Assert.Equal("model_layer.weight.dat", names.Get("model/layer.weight"));
        Assert.Equal("model_layer.weight_2.dat", names.Get("model_layer.weight"));
        Assert.Equal("model_layer.weight.dat", names.Get("model/layer.weight"));
        Assert.False(names.IsVerbatim("model_layer.weight"));
    }

    [Fact]
    public void CaseDifferencesCollideAndFileNamesAreAscii()
    {
        var names = new FlatFileNames(".dat");
        string[] files = [names.Get("W"), names.Get("w"), names.Get("w_2"), names.Get("caf\u00e9"), names.Get("cafe\u0301"), names.Get("\U0001F600"), names.Get("CAF%C3%A9")];

        // Precomposed and decomposed forms get different ASCII names, which no file system merges.
        Assert.Equal(["W.dat", "w_2.dat", "w_2_2.dat", "caf%C3%A9.dat", "cafe%CC%81.dat", "%F0%9F%98%80.dat", "CAF%C3%A9_2.dat"], files);
        Assert.All(files, f => Assert.True(f.All(char.IsAscii), f));
    }

    [Theory]
    [InlineData("", "_.dat")]
    [InlineData(".", "_.dat")]
    [InlineData("..", "_._.dat")]
    [InlineData(".hidden", "_hidden.dat")]
    [InlineData("a/../b", "a_.._b.dat")]
    [InlineData("x\0y\u001b[2J", "x_y_[2J.dat")]
    [InlineData("bidi\u202Etxt", "bidi_txt.dat")]
    [InlineData("con", "_con.dat")]
    [InlineData("LPT1.weight", "_LPT1.weight.dat")]
    [InlineData("trailing.", "trailing._.dat")]
    [InlineData("a\\b:c*d?e\"f<g>h|i", "a_b_c_d_e_f_g_h_i.dat")]
    public void HostileNamesBecomePlainFileNames(string name, string file)
    {
        Assert.Equal(file, new FlatFileNames(".dat").Get(name));
    }

    [Fact]
    public void LongNamesAreCappedUniqueAndDeterministic()
    {
        string a = new string('\u00e9', 400) + "a";
        string b = new string('\u00e9', 400) + "b";
        var first = new FlatFileNames(".dat");
        string fa = first.Get(a);
        string fb = first.Get(b);
        Assert.NotEqual(fa, fb);
        Assert.True(Encoding.UTF8.GetByteCount(fa) <= FlatFileNames.MaxStemBytes + 4);
        Assert.True(Encoding.UTF8.GetByteCount(fb) <= 255);
        var second = new FlatFileNames(".dat");
        Assert.Equal(fa, second.Get(a));
        Assert.Equal(fb, second.Get(b));
    }
}
