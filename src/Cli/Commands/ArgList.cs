namespace TorchToNnef.Cli.Commands;

/// <summary>
/// Minimal option parsing shared by the commands: positionals, <c>--name value</c> / <c>-n value</c> options and
/// flags. Unknown options are a <see cref="UsageException"/>; nothing is silently ignored.
/// </summary>
internal sealed class ArgList
{
    private readonly List<string> _positionals = [];
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _repeated = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    /// <summary>Parses <paramref name="args"/>; <paramref name="valueOptions"/> take a value, <paramref name="flagOptions"/> do not.
    /// Aliases are written <c>"--output|-o"</c>; results are keyed by the first spelling.</summary>
    public ArgList(string[] args, IEnumerable<string> valueOptions, IEnumerable<string> flagOptions)
    {
        Dictionary<string, string> valueAlias = Aliases(valueOptions);
        Dictionary<string, string> flagAlias = Aliases(flagOptions);
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string key = a;
            string? inlineValue = null;
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                key = a[..eq];
                inlineValue = a[(eq + 1)..];
            }

            if (valueAlias.TryGetValue(key, out string? canonical))
            {
                if (inlineValue is null && i + 1 >= args.Length)
                {
                    throw new UsageException($"option {key} needs a value");
                }

                string value = inlineValue ?? args[++i];
                _options[canonical] = value;
                if (!_repeated.TryGetValue(canonical, out List<string>? all))
                {
                    _repeated[canonical] = all = [];
                }

                all.Add(value);
            }
            else if (flagAlias.TryGetValue(a, out string? flag))
            {
                _flags.Add(flag);
            }
            else if (a.Length > 1 && a[0] == '-' && !double.TryParse(a, System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                throw new UsageException($"unknown option '{a}'");
            }
            else
            {
                _positionals.Add(a);
            }
        }
    }

    /// <summary>Positional arguments in order.</summary>
    public IReadOnlyList<string> Positionals => _positionals;

    /// <summary>Value of an option (by its first spelling), or null.</summary>
    public string? Get(string option) => _options.GetValueOrDefault(option);

    /// <summary>Every value given for a repeatable option, in order (empty when absent).</summary>
    public IReadOnlyList<string> GetAll(string option) => _repeated.TryGetValue(option, out List<string>? all) ? all : [];

    /// <summary>True when a flag (by its first spelling) was given.</summary>
    public bool Has(string flag) => _flags.Contains(flag);

    /// <summary>The single positional argument, or a usage error naming <paramref name="what"/>.</summary>
    public string SinglePositional(string what) => _positionals.Count switch
    {
        1 => _positionals[0],
        0 => throw new UsageException($"missing {what}"),
        _ => throw new UsageException($"expected one {what}, got {_positionals.Count} arguments"),
    };

    private static Dictionary<string, string> Aliases(IEnumerable<string> specs)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string spec in specs)
        {
            string[] names = spec.Split('|');
            foreach (string n in names)
            {
                map[n] = names[0];
            }
        }

        return map;
    }
}
