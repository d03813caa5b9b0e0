using System.Collections.ObjectModel;

namespace TorchToNnef.Ir;

/// <summary>
/// The body of a graph: nodes in definition order. Every insertion, removal or replacement bumps <see cref="Version"/>,
/// which lets the graph keep its producer index (see <see cref="Graph.FindProducer"/>) until the body changes.
/// </summary>
public sealed class NodeList : Collection<Node>
{
    /// <summary>Incremented by every structural change.</summary>
    public int Version { get; private set; }

    /// <summary>Appends several nodes in order.</summary>
    public void AddRange(IEnumerable<Node> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        foreach (Node n in nodes.ToList())
        {
            Add(n);
        }
    }

    /// <summary>Inserts several nodes at <paramref name="index"/>, keeping their order.</summary>
    public void InsertRange(int index, IEnumerable<Node> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        foreach (Node n in nodes.ToList())
        {
            Insert(index++, n);
        }
    }

    /// <summary>Removes every node matching <paramref name="match"/>; returns how many were removed.</summary>
    public int RemoveAll(Predicate<Node> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        var keep = Items.Where(n => !match(n)).ToList();
        int removed = Items.Count - keep.Count;
        if (removed > 0)
        {
            Items.Clear();
            foreach (Node n in keep)
            {
                Items.Add(n);
            }

            Version++;
        }

        return removed;
    }

    /// <summary>Index of the first node matching <paramref name="match"/>, or -1.</summary>
    public int FindIndex(Predicate<Node> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        for (int i = 0; i < Items.Count; i++)
        {
            if (match(Items[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <inheritdoc />
    protected override void InsertItem(int index, Node item)
    {
        ArgumentNullException.ThrowIfNull(item);
        base.InsertItem(index, item);
        Version++;
    }

    /// <inheritdoc />
    protected override void SetItem(int index, Node item)
    {
        ArgumentNullException.ThrowIfNull(item);
        base.SetItem(index, item);
        Version++;
    }

    /// <inheritdoc />
    protected override void RemoveItem(int index)
    {
        base.RemoveItem(index);
        Version++;
    }

    /// <inheritdoc />
    protected override void ClearItems()
    {
        base.ClearItems();
        Version++;
    }
}
