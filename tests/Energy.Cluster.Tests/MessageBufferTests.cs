using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Energy.Cluster.Gateway;

namespace Energy.Cluster.Tests;

/// <summary>
/// The read buffer of the OCPP and gateway sockets, over a real WebSocket pair on loopback: a message is read whole
/// whatever its fragments, a long one grows the buffer only up to one byte past the bound, and what is past the bound is
/// dropped without being read as the next message.
/// </summary>
public sealed class MessageBufferTests : IAsyncLifetime
{
    private const int Bound = 1_000;
    private const int Small = 64;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private TcpClient? _clientTcp;
    private TcpClient? _serverTcp;
    private WebSocket _client = null!;
    private WebSocket _server = null!;

    public async Task InitializeAsync()
    {
        _listener.Start();
        _clientTcp = new TcpClient();
        var accepted = _listener.AcceptTcpClientAsync();
        await _clientTcp.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)_listener.LocalEndpoint).Port);
        _serverTcp = await accepted;
        _client = WebSocket.CreateFromStream(_clientTcp.GetStream(), isServer: false, subProtocol: null, Timeout.InfiniteTimeSpan);
        _server = WebSocket.CreateFromStream(_serverTcp.GetStream(), isServer: true, subProtocol: null, Timeout.InfiniteTimeSpan);
    }

    public Task DisposeAsync()
    {
        _client.Dispose();
        _server.Dispose();
        _clientTcp?.Dispose();
        _serverTcp?.Dispose();
        _listener.Stop();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_short_message_is_read_whole_in_the_connections_own_buffer()
    {
        var buffer = new MessageBuffer(Bound, Small);
        var sent = Bytes(40, seed: 1);
        await SendAsync(sent);
        await ReadsAsync(buffer, sent);
    }

    [Fact]
    public async Task A_message_longer_than_the_small_buffer_sent_in_fragments_is_read_whole_and_the_next_one_too()
    {
        var buffer = new MessageBuffer(Bound, Small);
        var first = Bytes(Bound, seed: 2);
        var second = Bytes(10, seed: 3);
        await SendAsync(first, fragments: 7);
        await SendAsync(second);
        Assert.Equal(WebSocketMessageType.Text, await buffer.ReceiveAsync(_server, CancellationToken.None));
        Assert.False(buffer.TooLarge);
        Assert.Equal(first, buffer.Content.ToArray());
        Assert.Equal(WebSocketMessageType.Text, await buffer.ReceiveAsync(_server, CancellationToken.None));
        Assert.Equal(second, buffer.Content.ToArray());
    }

    [Fact]
    public async Task A_message_past_the_bound_is_too_large_holds_no_more_than_one_byte_past_it_and_its_rest_is_not_the_next_message()
    {
        var buffer = new MessageBuffer(Bound, Small);
        var tooLong = Bytes(Bound * 5, seed: 4);
        var next = Bytes(20, seed: 5);
        await SendAsync(tooLong, fragments: 3);
        await SendAsync(next);
        await buffer.ReceiveAsync(_server, CancellationToken.None);
        Assert.True(buffer.TooLarge);
        Assert.Equal(Bound + 1, buffer.Length);
        Assert.Equal(tooLong.AsSpan(0, Bound + 1).ToArray(), buffer.Content.ToArray());
        await buffer.ReceiveAsync(_server, CancellationToken.None);
        Assert.False(buffer.TooLarge);
        Assert.Equal(next, buffer.Content.ToArray());
    }

    [Fact]
    public async Task A_close_is_read_as_a_close()
    {
        var buffer = new MessageBuffer(Bound, Small);
        await _client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        Assert.Equal(WebSocketMessageType.Close, await buffer.ReceiveAsync(_server, CancellationToken.None));
    }

    [Fact]
    public async Task A_message_waited_for_before_it_is_sent_is_read_whole_and_so_is_every_one_after_it()
    {
        var buffer = new MessageBuffer(Bound, Small);
        for (var seed = 10; seed < 60; seed++)
        {
            var sent = Bytes(seed * 17 % Bound + 1, seed);
            var receiving = buffer.ReceiveAsync(_server, CancellationToken.None).AsTask();
            Assert.False(receiving.IsCompleted);
            await SendAsync(sent, fragments: 1 + seed % 4);
            Assert.Equal(WebSocketMessageType.Text, await receiving);
            Assert.Equal(sent, buffer.Content.ToArray());
        }
    }

    [Fact]
    public async Task A_wait_that_is_cancelled_ends_in_a_cancellation_not_a_message()
    {
        var buffer = new MessageBuffer(Bound, Small);
        using var cancel = new CancellationTokenSource();
        var receiving = buffer.ReceiveAsync(_server, cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiving);
    }

    [Fact]
    public async Task Messages_that_come_while_one_is_handled_leave_it_untouched_and_are_read_whole_in_order_after_it()
    {
        var buffer = new MessageBuffer(Bound, Small);
        var first = Bytes(50, seed: 70);
        await SendAsync(first);
        Assert.Equal(WebSocketMessageType.Text, await buffer.ReceiveAsync(_server, CancellationToken.None));
        var following = new[] { Bytes(Bound, seed: 71), Bytes(3, seed: 72), Bytes(Small, seed: 73) };
        await SendAsync(following[0], fragments: 5);
        await SendAsync(following[1]);
        await SendAsync(following[2], fragments: 2);
        await UntilAsync(() => buffer.NextHasCome);
        Assert.Equal(first, buffer.Content.ToArray());
        foreach (var sent in following) await ReadsAsync(buffer, sent);
    }

    [Fact]
    public async Task An_empty_message_and_a_close_that_come_while_one_is_handled_are_read_as_such()
    {
        var buffer = new MessageBuffer(Bound, Small);
        await SendAsync(Bytes(30, seed: 80));
        await buffer.ReceiveAsync(_server, CancellationToken.None);
        await _client.SendAsync(Memory<byte>.Empty, WebSocketMessageType.Text, true, CancellationToken.None);
        await _client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await UntilAsync(() => buffer.NextHasCome);
        Assert.Equal(WebSocketMessageType.Text, await buffer.ReceiveAsync(_server, CancellationToken.None));
        Assert.Equal(0, buffer.Length);
        Assert.Equal(WebSocketMessageType.Close, await buffer.ReceiveAsync(_server, CancellationToken.None));
    }

    [Fact]
    public async Task A_connection_cut_while_a_message_is_handled_ends_the_next_receive_in_an_error_not_a_message()
    {
        var buffer = new MessageBuffer(Bound, Small);
        await SendAsync(Bytes(30, seed: 90));
        await buffer.ReceiveAsync(_server, CancellationToken.None);
        _clientTcp!.Client.Close();
        await UntilAsync(() => buffer.NextHasCome);
        await Assert.ThrowsAnyAsync<Exception>(async () => await buffer.ReceiveAsync(_server, CancellationToken.None));
    }

    /// <summary>The next message read is <paramref name="sent"/>, whole and within the bound.</summary>
    private async Task ReadsAsync(MessageBuffer buffer, byte[] sent)
    {
        Assert.Equal(WebSocketMessageType.Text, await buffer.ReceiveAsync(_server, CancellationToken.None));
        Assert.False(buffer.TooLarge);
        Assert.Equal(sent, buffer.Content.ToArray());
    }

    /// <summary>Waits, at most 10 s, for what the socket's own threads bring about.</summary>
    private static async Task UntilAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the condition did not come about within 10 s");
            await Task.Yield();
        }
    }

    private async Task SendAsync(byte[] message, int fragments = 1)
    {
        var size = (message.Length + fragments - 1) / fragments;
        for (var at = 0; at < message.Length; at += size)
        {
            var length = Math.Min(size, message.Length - at);
            await _client.SendAsync(message.AsMemory(at, length), WebSocketMessageType.Text, at + length >= message.Length, CancellationToken.None);
        }
    }

    private static byte[] Bytes(int length, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (byte)random.Next('a', 'z' + 1))];
    }
}
