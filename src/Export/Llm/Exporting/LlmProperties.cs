using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm.Exporting;

/// <summary>
/// The <c>tract_core_properties</c> of an export (<c>llm-export.md</c> §5.4), in the reference tool's order and
/// spelling: the target version, identity fields (<c>os</c>, <c>hostname</c>, <c>user</c>, <c>export_date</c>,
/// <c>exported_py_class</c>, <c>export_cmd</c>), then the model keys runners read (<c>hf_model_type</c>,
/// <c>n_parameters</c>, dtypes, compression keys, <c>name_or_path</c>). The reference tool's
/// <c>torch_to_nnef_version</c>, <c>torch_version</c>, <c>transformers_version</c> and <c>py_version</c> describe a
/// Python environment this exporter does not have; <c>exporter</c> names it instead.
/// </summary>
internal static class LlmProperties
{
    /// <summary>The exporter and its version, e.g. <c>TorchToNnef.Managed 0.1.0</c>.</summary>
    public static string Exporter =>
        "TorchToNnef.Managed " + (typeof(LlmProperties).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0");

    /// <summary>Sets the properties of <paramref name="graph"/>.</summary>
    public static void Apply(Graph graph, LlmCheckpoint checkpoint, LlmPrecision precision, LlmExportOptions options, TractVersion version)
    {
        void Set(string key, string value) => graph.SetProperty(key, Clean(value));

        Set("tract_target_version", version.ToString());
        Set("exporter", Exporter);
        if (options.IdentityProperties)
        {
            Set("os", RuntimeInformation.OSDescription);
            Set("hostname", Environment.MachineName);
            Set("user", Environment.UserName);
        }

        Set("export_date", DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));

        // The I/O contract is that of the reference tool's BaseCausal wrapper (llm-export.md §6).
        Set("exported_py_class", "BaseCausal");
        Set("export_cmd", options.ExportCommand);
        Set("hf_model_type", checkpoint.Config.ModelType);
        Set("n_parameters", checkpoint.Summary.ParameterCount.ToString(CultureInfo.InvariantCulture));
        Set("main_base_weight_dtype", precision.Weights.Name());
        Set("forced_module_dtype", options.ForceDType is DType forced ? forced.Name() : string.Empty);
        Set("as_float16", precision.IsHalf ? "1" : "0");
        Set("inputs_dtype", precision.Weights.Name());
        if (options.Compression is { } method)
        {
            Set("compression_register_key", method.Key);
            Set("compression_registry", "None");

            // The reference tool writes this method name for every key containing "q4": it tells the storage
            // format (Q4_0 blocks), while compression_register_key names the method.
            Set("compression_method", method.Key.Contains("q4", StringComparison.Ordinal) ? "min_max_q4_0_with_embeddings" : method.Key);
        }

        string source = checkpoint.Files.Source;
        if (!source.StartsWith("/tmp", StringComparison.Ordinal))
        {
            Set("name_or_path", source);
        }
    }

    // tract's string literals accept no unescaped quote or backslash; the writer escapes them, and line breaks are
    // folded as the reference tool does.
    private static string Clean(string value) => value.Replace('\n', ' ').Replace('\r', ' ').Trim();
}
