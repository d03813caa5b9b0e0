using System.Text.Json;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Quant.Tests;

/// <summary>The cases of <c>shared/golden/q40/manifest.json</c>.</summary>
internal static class Q40Manifest
{
    private static readonly Lazy<JsonDocument> Doc = new(() => JsonDocument.Parse(File.ReadAllText(Golden.File("q40", "manifest.json"))));

    public static IEnumerable<JsonElement> Cases => Doc.Value.RootElement.GetProperty("cases").EnumerateArray();

    public static IEnumerable<JsonElement> ErrorCases => Doc.Value.RootElement.GetProperty("error_cases").EnumerateArray();

    public static JsonElement Case(string id) => Cases.Single(c => c.GetProperty("id").GetString() == id);

    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        foreach (JsonElement c in Cases)
        {
            data.Add(c.GetProperty("id").GetString()!);
        }

        return data;
    }

    public static TheoryData<string> ErrorCaseIds()
    {
        var data = new TheoryData<string>();
        foreach (JsonElement c in ErrorCases)
        {
            data.Add(c.GetProperty("id").GetString()!);
        }

        return data;
    }
}
