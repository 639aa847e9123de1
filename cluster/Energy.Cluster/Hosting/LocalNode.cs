using Akka.Actor;
using Akka.Configuration;

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
        return (system, EnergyRegions.Start(system, settings));
    }
}
