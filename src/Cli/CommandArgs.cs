using System.CommandLine;

namespace TorchToNnef.Cli;

/// <summary>
/// The values System.CommandLine parsed for one command, looked up by option name (<c>--output</c>). The parser has
/// already refused unknown options, missing values and wrong counts; the commands check what the values mean
/// (a tract version, a level from 0 to 9) and say so in their own words (<see cref="UsageException"/>).
/// </summary>
internal sealed class CommandArgs(ParseResult result)
{
    /// <summary>The parse this reads.</summary>
    public ParseResult Result => result;

    /// <summary>Value of a single-valued option, or null when it was not given.</summary>
    public string? Get(string option) => result.GetValue<string>(option);

    /// <summary>Every value of a repeatable option, in order (empty when absent).</summary>
    public IReadOnlyList<string> GetAll(string option) => result.GetValue<string[]>(option) ?? [];

    /// <summary>True when a flag was given.</summary>
    public bool Has(string flag) => result.GetValue<bool>(flag);

    /// <summary>The value of the command's positional argument <paramref name="name"/>.</summary>
    public string Argument(string name) => result.GetValue<string>(name)
        ?? throw new UsageException($"missing {name}");
}

/// <summary>
/// Builds the commands and options the same way: a value name for the help, aliases, a description (written over
/// several source lines; the help generator wraps it to the terminal).
/// </summary>
internal static class Opt
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Command, string> DetailsOf = [];

    /// <summary>
    /// A command: <paramref name="summary"/> is its line in <c>t2n --help</c>, <paramref name="details"/> the paragraph its
    /// own help adds (see <see cref="Details"/>).
    /// </summary>
    public static Command Command(string name, string summary, string details, params Symbol[] children)
    {
        var command = new Command(name, summary);
        DetailsOf.Add(command, Flat(details));
        foreach (Symbol child in children)
        {
            switch (child)
            {
                case Option o:
                    command.Add(o);
                    break;
                case Argument a:
                    command.Add(a);
                    break;
                default:
                    throw new ArgumentException($"cannot add {child.GetType().Name} to a command", nameof(children));
            }
        }

        return command;
    }

    /// <summary>An option that takes one value.</summary>
    public static Option<string> Value(string name, string valueName, string description, params string[] aliases) =>
        new(name, aliases) { HelpName = valueName, Description = Flat(description) };

    /// <summary>An option that takes one value and must be given.</summary>
    public static Option<string> Required(string name, string valueName, string description, params string[] aliases) =>
        new(name, aliases) { HelpName = valueName, Description = Flat(description), Required = true };

    /// <summary>An option that may be given several times, one value each.</summary>
    public static Option<string[]> Repeated(string name, string valueName, string description, params string[] aliases) =>
        new(name, aliases) { HelpName = valueName, Description = Flat(description), Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };

    /// <summary>
    /// Offers <paramref name="values"/> when a shell completes this option's value (<c>t2n completions</c>); the parser
    /// does not restrict the value to them (the command checks it and says what it expected).
    /// </summary>
    public static Option<string> Completing(this Option<string> option, IEnumerable<string> values)
    {
        option.CompletionSources.Add([.. values]);
        return option;
    }

    /// <summary>The tolerance levels as tract spells them (exact, close, approximate, very, super, ultra), for completion.</summary>
    public static IEnumerable<string> ToleranceLevels =>
        Enum.GetValues<TorchToNnef.Export.Verification.Approximation>().Select(TorchToNnef.Export.Verification.Tolerance.NameOf);

    /// <summary>The compression methods of the registry, for completion.</summary>
    public static IEnumerable<string> CompressionMethods => TorchToNnef.Quant.Registry.CompressionRegistry.Default.Keys;

    /// <summary>A flag (no value).</summary>
    public static Option<bool> Flag(string name, string description, params string[] aliases) =>
        new(name, aliases) { Description = Flat(description), Arity = ArgumentArity.Zero };

    /// <summary>The positional argument of a command.</summary>
    public static Argument<string> Path(string name, string description) =>
        new(name) { Description = Flat(description), Arity = ArgumentArity.ExactlyOne };

    /// <summary>The paragraph of a command's help after its options, if any.</summary>
    public static string? Details(Command command) => DetailsOf.TryGetValue(command, out string? d) ? d : null;

    /// <summary><paramref name="text"/> wrapped to <paramref name="width"/> columns, indented by two spaces.</summary>
    public static IEnumerable<string> Wrap(string text, int width = 100)
    {
        var line = new System.Text.StringBuilder("  ");
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 2 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear().Append("  ");
            }

            line.Append(line.Length > 2 ? " " : string.Empty).Append(word);
        }

        if (line.Length > 2)
        {
            yield return line.ToString();
        }
    }

    // Raw string literals keep their line breaks; the help generator wraps by itself.
    private static string Flat(string text) => string.Join(' ', text.Split((char[])['\n', '\r', ' '], StringSplitOptions.RemoveEmptyEntries));
}
