using Energy.Cluster.Gateway;

namespace Energy.Cluster.Tests;

/// <summary>The node-wide bound on gateway challenges, shared by every connection.</summary>
public sealed class GatewayChallengeBudgetTests
{
    [Fact]
    public void Connections_together_hold_at_most_the_nodes_bound_and_what_they_give_back_is_free_again()
    {
        var budget = new GatewayChallengeBudget(100);
        var taken = 0;
        Parallel.For(0, 1_000, _ =>
        {
            if (budget.TryTake()) Interlocked.Increment(ref taken);
        });
        Assert.Equal(100, taken);
        Assert.Equal(100, budget.Outstanding);
        Assert.False(budget.TryTake());
        budget.Return(3);
        Assert.True(budget.TryTake());
        Assert.Equal(98, budget.Outstanding);
    }

    [Fact]
    public void Giving_back_more_than_was_taken_is_refused_loudly()
    {
        var budget = new GatewayChallengeBudget(10);
        Assert.True(budget.TryTake());
        Assert.Throws<InvalidOperationException>(() => budget.Return(2));
    }
}
