using Akka.Actor;
using Akka.Configuration;
using Energy.Cluster.Network;

namespace Energy.Cluster.Hosting;

/// <summary>A node started in this process without a web host: a cluster of one, every region started.</summary>
public static class LocalNode
{
    public static async Task<(ActorSystem System, EnergyRegions Regions)> StartAsync(NodeOptions node, EnergySettings settings, string logLevel = "WARNING")
    {
        var config = EnergyConfig.Build(node).WithFallback(ConfigurationFactory.ParseString($"akka.loglevel = {logLevel}"));
        var setup = Akka.Actor.Setup.ActorSystemSetup.Create([BootstrapSetup.Create().WithConfig(config), .. EnergyConfig.Setups(node)]);
        var system = ActorSystem.Create(EnergyConfig.SystemName, setup);
        var cluster = Akka.Cluster.Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        cluster.Join(cluster.SelfAddress);
        await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var regions = EnergyEntities.Start(system, settings);
        await WhenEntitiesAnswerAsync(regions, TimeSpan.FromSeconds(60));
        return (system, regions);
    }

    /// <summary>
    /// Ready means an entity answers: the first one a fresh node wakes pays for the journal's start (its tables
    /// made, its first connections opened) and for the first shard's allocation, which on a busy machine can
    /// take longer than one ask. A lookup of an operator nobody admitted is asked until it is answered, within a bound.
    /// </summary>
    private static async Task WhenEntitiesAnswerAsync(EnergyRegions regions, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            try
            {
                await regions.Operators.Ask<object>(new Energy.Lifecycles.Registry.GetOperator(Energy.Channels.Primitives.OperatorId.Of("readiness-probe")), TimeSpan.FromSeconds(5));
                return;
            }
            catch (AskTimeoutException) when (DateTime.UtcNow < deadline)
            {
                // Not answered yet: ask again until the bound.
            }
        }
    }
}
