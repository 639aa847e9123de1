namespace Energy.Cluster.Gateway;

/// <summary>
/// The gateway challenges outstanding on this node, over every connection. Each connection takes one per
/// challenge it issues and gives it back when the challenge is answered, expires or the connection ends,
/// so that many connections together hold at most <see cref="Max"/>.
/// </summary>
public sealed class GatewayChallengeBudget(int max)
{
    private int _outstanding;

    public int Max => max;

    public int Outstanding => Volatile.Read(ref _outstanding);

    public bool TryTake()
    {
        while (true)
        {
            var current = Volatile.Read(ref _outstanding);
            if (current >= max) return false;
            if (Interlocked.CompareExchange(ref _outstanding, current + 1, current) == current) return true;
        }
    }

    public void Return(int count)
    {
        if (count <= 0) return;
        var left = Interlocked.Add(ref _outstanding, -count);
        // Given back more than was taken is a bug in a caller: fail loudly rather than let the bound drift.
        if (left < 0) throw new InvalidOperationException($"gateway challenges went below zero ({left})");
    }
}
