using System.Collections;

namespace TorchToNnef.Tensors;

/// <summary>
/// An immutable tensor shape of rank 0 to <see cref="MaxRank"/> with non-negative dimensions.
/// The element count is computed with overflow detection when the shape is built, so any shape that exists
/// has an element count that fits in a <see cref="long"/>.
/// </summary>
public readonly struct Shape : IEquatable<Shape>, IReadOnlyList<long>
{
    /// <summary>Highest rank supported, as in NNEF <c>.dat</c> headers.</summary>
    public const int MaxRank = 8;

    private readonly long[]? _dims;
    private readonly long _count;

    /// <summary>Builds a shape, validating rank, signs and the element-count product.</summary>
    /// <exception cref="ArgumentException">Rank above 8 or a negative dimension.</exception>
    /// <exception cref="OverflowException">The element count overflows 64 bits.</exception>
    public Shape(params ReadOnlySpan<long> dims)
    {
        if (dims.Length > MaxRank)
        {
            throw new ArgumentException($"Rank {dims.Length} exceeds the maximum of {MaxRank}.", nameof(dims));
        }

        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Negative dimension {d} in shape.", nameof(dims));
            }

            count = checked(count * d);
        }

        _dims = dims.ToArray();
        _count = count;
    }

    /// <summary>Builds a shape from 32-bit dimensions.</summary>
    public static Shape Of(params ReadOnlySpan<int> dims)
    {
        Span<long> wide = stackalloc long[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            wide[i] = dims[i];
        }

        return new Shape(wide);
    }

    /// <summary>The rank-0 shape (one element).</summary>
    public static Shape Scalar => new(ReadOnlySpan<long>.Empty);

    /// <summary>Tries to build a shape; returns false with a reason instead of throwing.</summary>
    public static bool TryCreate(ReadOnlySpan<long> dims, out Shape shape, out string? error)
    {
        shape = default;
        if (dims.Length > MaxRank)
        {
            error = $"rank {dims.Length} exceeds the maximum of {MaxRank}";
            return false;
        }

        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0)
            {
                error = $"negative dimension {d}";
                return false;
            }

            if (d != 0 && count > long.MaxValue / d)
            {
                error = "element count overflows 64 bits";
                return false;
            }

            count *= d;
        }

        shape = new Shape(dims);
        error = null;
        return true;
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims?.Length ?? 0;

    /// <summary>Product of the dimensions (1 for rank 0).</summary>
    public long ElementCount => _dims is null ? 1 : _count;

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<long> Dims => _dims;

    /// <summary>Dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public long this[int axis] => _dims![axis < 0 ? axis + Rank : axis];

    /// <inheritdoc />
    int IReadOnlyCollection<long>.Count => Rank;

    /// <summary>Product of dimensions from <paramref name="axis"/> to the end (row volume for axis 1).</summary>
    public long VolumeFrom(int axis)
    {
        long v = 1;
        for (int i = axis; i < Rank; i++)
        {
            v *= _dims![i];
        }

        return v;
    }

    /// <summary>Dimensions as a new array.</summary>
    public long[] ToArray() => Dims.ToArray();

    /// <inheritdoc />
    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (long d in Dims)
        {
            h.Add(d);
        }

        return h.ToHashCode();
    }

    /// <summary>Formats as <c>[2, 3, 4]</c>.</summary>
    public override string ToString() => "[" + string.Join(", ", _dims ?? []) + "]";

    /// <inheritdoc />
    public IEnumerator<long> GetEnumerator() => ((IEnumerable<long>)(_dims ?? [])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Value equality.</summary>
    public static bool operator ==(Shape left, Shape right) => left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(Shape left, Shape right) => !left.Equals(right);
}
