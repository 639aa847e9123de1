using System.Net.WebSockets;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Cluster.Gateway;
using Energy.Cluster.Kernel;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>
/// A charge point's OCPP connection as the cluster reaches it, by its registered path: a replacement naming another charge
/// point changes nothing; its own closes the socket saying why; after the connection ended its path leads nowhere; the
/// network's calls wait for a slow socket in their order, and no more than the bound of them.
/// </summary>
public sealed class OcppConnectionTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static WebSocket ServerSocket() => WebSocket.CreateFromStream(new MemoryStream(), isServer: true, subProtocol: "ocpp1.6", TimeSpan.Zero);

    [Fact]
    public void Only_its_own_charge_points_replacement_closes_it()
    {
        var socket = ServerSocket();
        using var sending = new SemaphoreSlim(1, 1);
        using var served = new CancellationTokenSource();
        using var connection = new OcppConnection(Sys, "cp-own-1", socket, sending, served);

        LiveConnections.TellReplaced(Sys, connection.Address, "cp-other-2");
        Assert.Equal(WebSocketState.Open, socket.State);
        Assert.False(served.IsCancellationRequested);

        LiveConnections.TellReplaced(Sys, connection.Address, "cp-own-1");
        AwaitAssert(() => Assert.Equal(WebSocketState.CloseSent, socket.State));
    }

    [Fact]
    public void Calls_to_a_socket_that_does_not_take_them_wait_in_order_up_to_the_bound_and_the_rest_are_dropped()
    {
        var stream = new HeldStream();
        var socket = WebSocket.CreateFromStream(stream, isServer: true, subProtocol: "ocpp1.6", TimeSpan.Zero);
        using var sending = new SemaphoreSlim(1, 1);
        using var served = new CancellationTokenSource();
        using var connection = new OcppConnection(Sys, "cp-slow-4", socket, sending, served);
        var reached = ((ExtendedActorSystem)Sys).Provider.ResolveActorRef(connection.Address);

        // The first call's frame is held in the socket's write; the calls behind it wait, up to the bound; the rest are dropped.
        for (var n = 1; n <= OcppConnection.MaxPendingCalls + 4; n++) reached.Tell(Call(n));
        Assert.Equal(OcppConnection.MaxPendingCalls, connection.Pending);
        Assert.Empty(stream.Frames());

        stream.Release();
        AwaitAssert(() => Assert.Equal(0, connection.Pending));
        // Once the socket took them, the connection takes calls again.
        reached.Tell(Call(99));
        AwaitAssert(() => Assert.Equal(OcppConnection.MaxPendingCalls + 1, stream.Frames().Count));
        var written = stream.Frames().Select(frame => JsonDocument.Parse(frame).RootElement).ToList();
        Assert.All(written, call => Assert.Equal("RemoteStopTransaction", call[2].GetString()));
        Assert.Equal([.. Enumerable.Range(1, OcppConnection.MaxPendingCalls), 99], written.Select(call => call[3].GetProperty("transactionId").GetInt32()));
        Assert.Equal(written.Count, written.Select(call => call[1].GetString()).Distinct().Count());
    }

    private static Energy.Lifecycles.ChargePoints.OcppOutgoingCall Call(int transactionId) =>
        new("RemoteStopTransaction", JsonSerializer.SerializeToElement(new { transactionId }));

    /// <summary>A connection's stream whose writes wait until <see cref="Release"/>, keeping what was written.</summary>
    private sealed class HeldStream : Stream
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly MemoryStream _written = new();

        public void Release() => _released.TrySetResult();

        /// <summary>The payloads of the unmasked text frames written so far.</summary>
        public List<string> Frames()
        {
            byte[] bytes;
            lock (_written) bytes = _written.ToArray();
            var frames = new List<string>();
            for (var at = 0; at + 2 <= bytes.Length;)
            {
                var length = bytes[at + 1] & 0x7F;
                var header = 2;
                if (length == 126) (length, header) = ((bytes[at + 2] << 8) | bytes[at + 3], 4);
                frames.Add(System.Text.Encoding.UTF8.GetString(bytes, at + header, length));
                at += header + length;
            }
            return frames;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _released.Task.WaitAsync(cancellationToken);
            lock (_written) _written.Write(buffer.Span);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("writes are asynchronous");
        public override int Read(byte[] buffer, int offset, int count) => 0;
        public override void Flush() { }
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }

    [Fact]
    public void An_ended_connection_is_not_reached_by_its_path()
    {
        var socket = ServerSocket();
        using var sending = new SemaphoreSlim(1, 1);
        using var served = new CancellationTokenSource();
        var connection = new OcppConnection(Sys, "cp-own-3", socket, sending, served);
        var address = connection.Address;
        connection.Dispose();

        LiveConnections.TellReplaced(Sys, address, "cp-own-3");
        Assert.Equal(WebSocketState.Open, socket.State);
    }
}
