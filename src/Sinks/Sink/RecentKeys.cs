namespace Siyu.Sinks.Sink;

/// <summary>A bounded set of recently inserted keys; the oldest leave first. Not thread-safe.</summary>
internal sealed class RecentKeys(int capacity)
{
    private readonly HashSet<string> _set = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    public int Count => _set.Count;

    public bool Contains(string key) => _set.Contains(key);

    public void Add(string key)
    {
        if (capacity == 0 || !_set.Add(key))
        {
            return;
        }

        _order.Enqueue(key);
        while (_order.Count > capacity)
        {
            _set.Remove(_order.Dequeue());
        }
    }
}
