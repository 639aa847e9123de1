using System.Diagnostics;
using System.Threading.Channels;
using Energy.Cluster.Network;
using Energy.Cluster.Serialization;
using Energy.Wire;
using Energy.Cluster.Kernel;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The calls of one gateway connection's authenticated devices, each asked of the entity that answers it and answered
/// by id. Calls are pipelined, at most <see cref="GatewayProtocol.MaxCallsInFlight"/> at once: past it the connection's
/// reader waits until one is answered. Each is held (<see cref="HeldCalls"/>) until its entity answers at the call's own
/// reply address (<see cref="ReplyAddresses"/>).
/// </summary>
internal sealed class DeviceCalls(EnergyNetwork network, GatewaySocket socket, HeldCalls held, ReplyAddresses answers, string replyPath, CancellationToken stop) : IDisposable
{
    private readonly SemaphoreSlim _inFlight = new(GatewayProtocol.MaxCallsInFlight);

    /// <summary>Starts a call once there is room for it; its answer is queued on the socket when it comes.</summary>
    public async Task StartAsync(GatewayFrame call)
    {
        await _inFlight.WaitAsync(stop);
        _ = ServeAsync(call);
    }

    public void Dispose() => _inFlight.Dispose();

    private async Task ServeAsync(GatewayFrame frame)
    {
        // A call is a trace of its own, not a part of the connection's (which may last for days); the entity's span is its child.
        System.Diagnostics.Activity.Current = null;
        using var span = EnergyTracing.Source.StartActivity("gateway.call", ActivityKind.Server);
        try
        {
            var read = GatewayCommands.Of(frame, network.Settings.Currency, replyPath);
            if (span is not null) Describe(span, frame, read.IsOk ? null : read.Error!.Code);
            await socket.SendAsync(read.IsOk ? await AskAsync(frame, read.Value!, span) : DeviceGateway.Error(read.Error!));
        }
        catch (OperationCanceledException)
        {
        }
        catch (ChannelClosedException)
        {
        }
        finally
        {
            _inFlight.Release();
        }
    }

    private async Task<byte[]> AskAsync(GatewayFrame frame, object command, System.Diagnostics.Activity? span)
    {
        using var holding = held.Hold();
        try
        {
            // The answer goes on on the thread pool, off the entity's thread, before it is encoded and sent.
            var answer = await answers.AskAsync(network.RegionForDevice(command), EnergyTracing.Stamp(command));
            if (answer is not Refusal refusal) return GatewayFrameWriter.Result(frame.Id!.Value, frame.Device, answer, EnergyJson.Options);
            span?.SetStatus(ActivityStatusCode.Error, refusal.Code);
            return DeviceGateway.Error(new GatewayError.Refused(frame.Id, frame.Device, refusal.Error));
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            span?.SetStatus(ActivityStatusCode.Error, "Timeout");
            return DeviceGateway.Error(new GatewayError.Timeout(frame.Id, frame.Device, "network"));
        }
    }

    /// <summary>Names a call's span by its action (only an action the gateway knows: a frame's text is never a name).</summary>
    private static void Describe(System.Diagnostics.Activity span, GatewayFrame frame, string? refused)
    {
        if (refused is not null) { span.SetStatus(ActivityStatusCode.Error, refused); return; }
        span.DisplayName = "gateway " + frame.Action;
        span.SetTag("energy.gateway.action", frame.Action);
    }
}
