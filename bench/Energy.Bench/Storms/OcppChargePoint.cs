using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using Energy.Ocpp;

namespace Energy.Bench.Storms;

/// <summary>
/// A simulated OCPP 1.6J charge point for storms: one call at a time, as the protocol has it, each timed out after
/// <see cref="CallTimeout"/>. It honours the central system's "busy, retry" answers: an HTTP 503 with Retry-After at
/// the upgrade, and a BootNotification answered Pending with an interval; each is counted as asked to retry, not as
/// an error, and it is served once its boot is Accepted. A CALL the central system sends it is refused (NotSupported)
/// and counted. Every call's answer time goes into the storm's <see cref="StormRecorder.Answers"/> series.
/// </summary>
public sealed class OcppChargePoint(string id, string? password)
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How many times a charge point honours "busy, retry" in one wake-up before it counts as an error.</summary>
    public const int MaxRetries = 30;

    private StormSocket? _socket;
    private int _next;
    private long _registerWh = 1_000;

    public string Id { get; } = id;
    public int? TransactionId { get; private set; }
    public bool IsOpen => _socket is not null;

    /// <summary>CALLs the central system sent this charge point.</summary>
    public static int CallsFromCentralSystem => Volatile.Read(ref _callsFromCentralSystem);
    private static int _callsFromCentralSystem;

    /// <summary>
    /// Connects and boots, honouring "busy, retry"; then starts a transaction when it has none. Served at the Accepted
    /// boot. False (and the error recorded) when it could not.
    /// </summary>
    public async Task<bool> WakeAsync(Uri server, int index, StormRecorder recorder, Stopwatch storm)
    {
        if (!await UpgradeAsync(server, recorder)) return false;
        for (var attempt = 0; ; attempt++)
        {
            var boot = await CallAsync(Ocpp16Actions.BootNotification, new { chargePointVendor = "Bench", chargePointModel = "Storm" }, recorder);
            if (boot is not { } body) return false;
            var status = body.TryGetProperty("status", out var s) ? s.GetString() : null;
            if (status == "Accepted")
            {
                recorder.Served(index, storm.Elapsed.TotalMilliseconds);
                break;
            }
            if (status != "Pending" || attempt >= MaxRetries)
            {
                recorder.Error(status == "Pending" ? "boot Pending beyond the retries" : $"boot {status}");
                return false;
            }
            recorder.AskedToRetry("boot Pending");
            var interval = body.TryGetProperty("interval", out var i) && i.TryGetInt32(out var seconds) ? seconds : 0;
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, interval)));
        }
        if (TransactionId is not null) return true;
        var started = await CallAsync(Ocpp16Actions.StartTransaction, new { connectorId = 1, idTag = "fleet-card", meterStart = 1_000, timestamp = "2026-11-25T08:00:00Z" }, recorder);
        if (started is not { } transaction) return false;
        TransactionId = transaction.GetProperty("transactionId").GetInt32();
        return true;
    }

    private async Task<bool> UpgradeAsync(Uri server, StormRecorder recorder)
    {
        var uri = new UriBuilder(server) { Scheme = "ws", Path = $"/ocpp/{Id}" }.Uri;
        var authorization = password is null ? null : OcppBasicAuthentication.Header(Id, password);
        for (var attempt = 0; ; attempt++)
        {
            var upgrade = await StormSocket.ConnectAsync(uri, Ocpp16.Subprotocol, authorization);
            if (upgrade.Socket is not null)
            {
                _socket = upgrade.Socket;
                return true;
            }
            if (upgrade.RetryAfter is { } wait && attempt < MaxRetries)
            {
                recorder.AskedToRetry("upgrade 503 Retry-After");
                await Task.Delay(wait);
                continue;
            }
            recorder.Error(upgrade.Refusal ?? "upgrade 503 beyond the retries");
            return false;
        }
    }

    /// <summary>One MeterValues on the open transaction; false (and the error recorded) when it was not answered.</summary>
    public async Task<bool> MeterValuesAsync(StormRecorder recorder)
    {
        _registerWh += 250;
        var answer = await CallAsync(Ocpp16Actions.MeterValues, new
        {
            connectorId = 1,
            transactionId = TransactionId ?? 0,
            meterValue = new[]
            {
                new
                {
                    timestamp = "2026-11-25T08:00:00Z",
                    sampledValue = new[] { new { value = _registerWh.ToString(CultureInfo.InvariantCulture), measurand = "Energy.Active.Import.Register", unit = "Wh" } },
                },
            },
        }, recorder);
        return answer is not null;
    }

    /// <summary>
    /// One CALL and its CALLRESULT's payload, its answer time recorded; null when it failed (CALLERROR, timeout, the
    /// connection lost), the error recorded and the connection dropped.
    /// </summary>
    private async Task<JsonElement?> CallAsync(string action, object payload, StormRecorder recorder)
    {
        if (_socket is null)
        {
            recorder.Error($"{action}: not connected");
            return null;
        }
        var uniqueId = (++_next).ToString(CultureInfo.InvariantCulture);
        using var timeout = new CancellationTokenSource(CallTimeout);
        var clock = Stopwatch.StartNew();
        try
        {
            await _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new object[] { 2, uniqueId, action, payload }), timeout.Token);
            while (true)
            {
                if (!await _socket.ReceiveAsync(timeout.Token)) return Fail(recorder, $"{action}: connection closed by the server ({_socket.CloseReason})");
                using var frame = JsonDocument.Parse(_socket.Message);
                var root = frame.RootElement;
                var type = root[0].GetInt32();
                if (type == 2)
                {
                    await RefuseAsync(root[1].GetString()!, timeout.Token);
                    continue;
                }
                if (root[1].GetString() != uniqueId) continue;
                recorder.Record(StormRecorder.Answers, clock.Elapsed.TotalMilliseconds);
                if (type == 3) return root[2].Clone();
                return Fail(recorder, $"{action}: CALLERROR {root[2].GetString()} \"{root[3].GetString()}\"");
            }
        }
        catch (OperationCanceledException)
        {
            return Fail(recorder, $"{action}: timeout ({CallTimeout.TotalSeconds:0} s)");
        }
        catch (WebSocketException e)
        {
            return Fail(recorder, $"{action}: connection lost ({e.WebSocketErrorCode})");
        }
    }

    private JsonElement? Fail(StormRecorder recorder, string error)
    {
        recorder.Error(error);
        _socket?.Dispose();
        _socket = null;
        return null;
    }

    private Task RefuseAsync(string uniqueId, CancellationToken token)
    {
        Interlocked.Increment(ref _callsFromCentralSystem);
        return _socket!.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new object[] { 4, uniqueId, "NotSupported", "a storm client answers no calls", new { } }), token);
    }

    /// <summary>Closes the connection (a close frame, not waited for long); the transaction is kept for the next one.</summary>
    public async Task CloseAsync()
    {
        if (_socket is null) return;
        await _socket.CloseAsync();
        _socket = null;
    }

    /// <summary>The connection is gone (the server stopped): forget it without a close frame.</summary>
    public void Drop()
    {
        _socket?.Dispose();
        _socket = null;
    }
}
