using System.Xml.Linq;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Onnx;

/// <summary>The product stays free of native code: ONNX Runtime is a test oracle only, and protoc runs at build time only.</summary>
public class OnnxDependencyTests
{
    [Fact]
    public void NoProductProjectReferencesOnnxRuntime()
    {
        string[] projects = Directory.GetFiles(Path.Combine(Golden.RepoRoot, "src"), "*.csproj", SearchOption.AllDirectories);
        Assert.NotEmpty(projects);
        foreach (string project in projects)
        {
            Assert.DoesNotContain("OnnxRuntime", File.ReadAllText(project), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void ProtobufCodegenIsABuildOnlyDependency()
    {
        var project = XDocument.Load(Path.Combine(Golden.RepoRoot, "src", "Formats", "TorchToNnef.Formats.csproj"));
        XElement tools = project.Descendants("PackageReference").Single(e => (string?)e.Attribute("Include") == "Grpc.Tools");
        Assert.Equal("all", (string?)tools.Attribute("PrivateAssets"));
        Assert.Contains(project.Descendants("PackageReference"), e => (string?)e.Attribute("Include") == "Google.Protobuf");
    }
}
