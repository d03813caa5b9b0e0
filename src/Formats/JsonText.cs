using System.Text.Unicode;
using TorchToNnef.Errors;

namespace TorchToNnef.Formats;

/// <summary>
/// Checks shared by the JSON readers. System.Text.Json validates the UTF-8 of a string only when the string is
/// read, and then throws <see cref="InvalidOperationException"/> rather than a <c>JsonException</c>; checking the
/// whole text up front turns every such file into the documented error, whichever field happens to hold the bad bytes.
/// </summary>
internal static class JsonText
{
    /// <summary>Throws when <paramref name="json"/> is not valid UTF-8 (JSON text must be, RFC 8259 §8.1).</summary>
    /// <exception cref="InvalidInputFileException">Invalid UTF-8, naming <paramref name="file"/> and <paramref name="what"/>.</exception>
    public static void RequireUtf8(ReadOnlySpan<byte> json, string? file, string what)
    {
        if (!Utf8.IsValid(json))
        {
            throw new InvalidInputFileException(file, null, $"{what} is not valid UTF-8 text");
        }
    }
}
