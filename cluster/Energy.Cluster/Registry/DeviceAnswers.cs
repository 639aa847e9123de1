using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Registry;

/// <summary>What the twins of several devices answer, asked at once; the rules that read the answers are the asker's core's.</summary>
public static class DeviceAnswers
{
    /// <summary>
    /// Each device's twin's answer to <see cref="GetDevice"/> (null where it did not answer in time), asked at once. Meant
    /// to be piped back to the entity that asks: it touches no actor's state.
    /// </summary>
    public static async Task<Dictionary<DeviceId, object?>> AskAllAsync(IActorRef devices, IReadOnlyList<DeviceId> ids, TimeSpan timeout)
    {
        var answers = await Task.WhenAll(ids.Select(async id =>
        {
            try { return (id, await devices.Ask<object>(new GetDevice(id), timeout)); }
            catch (AskTimeoutException) { return (id, (object?)null); }
        }));
        var byDevice = new Dictionary<DeviceId, object?>(answers.Length);
        foreach (var (id, answer) in answers) byDevice[id] = answer;
        return byDevice;
    }
}
