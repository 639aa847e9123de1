using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Node.Tests;

/// <summary>OCPP 1.6J at /ocpp/{chargePointId} on a real node process, spoken by a plain WebSocket client.</summary>
public sealed class OcppEndpointTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");
    private const string Password = "the charger's password";

    /// <summary>Endorses the charger for a charge point operator, sets its password and connects with Basic authentication (profile 1).</summary>
    private async Task<ClientWebSocket> ConnectAsync(string chargePoint)
    {
        using (var chargers = new OcppChargers(fixture.Node, $"cpo-{chargePoint}"))
        {
            await chargers.AdmitAsync();
            await chargers.ChargerAsync(chargePoint, Password);
        }
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("ocpp1.6");
        socket.Options.SetRequestHeader("Authorization", Energy.Ocpp.OcppBasicAuthentication.Header(chargePoint, Password));
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Node.Port}/ocpp/{chargePoint}"), CancellationToken.None);
        return socket;
    }

    private static async Task<JsonElement> SendAsync(ClientWebSocket socket, string message)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[65_536];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        return JsonDocument.Parse(buffer.AsMemory(0, result.Count)).RootElement.Clone();
    }

    private static string Call(string id, string action, object payload) => JsonSerializer.Serialize(new object[] { 2, id, action, payload });

    private async Task<string> RegisterVehicleAsync(string name)
    {
        using var cpoKey = DeviceKeyPair.Generate();
        using var vehicleKey = DeviceKeyPair.Generate();
        var cpo = OperatorId.Of($"cpo-{name}");
        var vehicle = DeviceId.Of($"vehicle-{name}");
        Assert.True((await fixture.Api.PostSignedAsync($"/api/operators/{cpo}/admission", Governance.Admission(fixture.Node, cpo, cpoKey.PublicKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner))).Ok);
        Assert.True((await fixture.Api.PostSignedAsync($"/api/devices/{vehicle}/endorsement",
            DeviceIdentity.Endorse(Network, cpo, cpoKey, vehicle, DeviceRole.Vehicle, vehicleKey.PublicKey).Endorsement.ToArray())).Ok);
        return vehicle.Value;
    }

    [Fact]
    public async Task The_endpoint_echoes_the_ocpp16_subprotocol_and_runs_a_session_exactly_once()
    {
        var vehicle = await RegisterVehicleAsync("ocpp");
        using var socket = await ConnectAsync("cp-0001");
        Assert.Equal("ocpp1.6", socket.SubProtocol);

        var boot = await SendAsync(socket, Call("1", "BootNotification", new { chargePointVendor = "Energy", chargePointModel = "Wallbox" }));
        Assert.Equal((3, "1", "Accepted"), (boot[0].GetInt32(), boot[1].GetString(), boot[2].GetProperty("status").GetString()));
        Assert.Equal("Invalid", (await SendAsync(socket, Call("2", "Authorize", new { idTag = "stranger" })))[2].GetProperty("idTagInfo").GetProperty("status").GetString());
        Assert.Equal("Accepted", (await SendAsync(socket, Call("3", "Authorize", new { idTag = vehicle })))[2].GetProperty("idTagInfo").GetProperty("status").GetString());

        var start = await SendAsync(socket, Call("4", "StartTransaction", new { connectorId = 1, idTag = vehicle, meterStart = 1000, timestamp = "2026-11-24T10:00:00Z" }));
        var transactionId = start[2].GetProperty("transactionId").GetInt32();
        var sample = new { timestamp = "2026-11-24T10:10:00Z", sampledValue = new[] { new { value = "3.5", measurand = "Energy.Active.Import.Register", unit = "kWh" } } };
        Assert.Equal(3, (await SendAsync(socket, Call("5", "MeterValues", new { connectorId = 1, transactionId, meterValue = new[] { sample } })))[0].GetInt32());
        var backwards = new { timestamp = "2026-11-24T10:11:00Z", sampledValue = new[] { new { value = "2000", measurand = "Energy.Active.Import.Register", unit = "Wh" } } };
        Assert.Equal(3, (await SendAsync(socket, Call("6", "MeterValues", new { connectorId = 1, transactionId, meterValue = new[] { backwards } })))[0].GetInt32());
        Assert.Equal(3, (await SendAsync(socket, Call("7", "MeterValues", new { connectorId = 1, transactionId = 999, meterValue = new[] { sample } })))[0].GetInt32());

        var below = await SendAsync(socket, Call("8", "StopTransaction", new { transactionId, meterStop = 900, timestamp = "2026-11-24T10:30:00Z" }));
        Assert.Equal("Invalid", below[2].GetProperty("idTagInfo").GetProperty("status").GetString());
        var stop = await SendAsync(socket, Call("9", "StopTransaction", new { transactionId, meterStop = 5000, timestamp = "2026-11-24T10:30:00Z" }));
        var again = await SendAsync(socket, Call("10", "StopTransaction", new { transactionId, meterStop = 7000, timestamp = "2026-11-24T10:31:00Z" }));
        Assert.Equal(stop[2].ToString(), again[2].ToString());
        Assert.Equal("Invalid", (await SendAsync(socket, Call("11", "StopTransaction", new { transactionId = 424242, meterStop = 1, timestamp = "2026-11-24T10:31:00Z" })))[2].GetProperty("idTagInfo").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Malformed_frames_get_the_matching_CALLERROR()
    {
        using var socket = await ConnectAsync("cp-0002");
        var notJson = await SendAsync(socket, "this is not json");
        Assert.Equal((4, "-1", "FormationViolation"), (notJson[0].GetInt32(), notJson[1].GetString(), notJson[2].GetString()));
        Assert.Equal("NotImplemented", (await SendAsync(socket, Call("a", "DataTransfer", new { vendorId = "x" })))[2].GetString());
        Assert.Equal("OccurenceConstraintViolation", (await SendAsync(socket, Call("b", "BootNotification", new { chargePointVendor = "Energy" })))[2].GetString());
        Assert.Equal("TypeConstraintViolation", (await SendAsync(socket, Call("c", "StartTransaction", new { connectorId = "one", idTag = "x", meterStart = 1, timestamp = "2026-11-24T10:00:00Z" })))[2].GetString());
        Assert.Equal("b", (await SendAsync(socket, Call("b", "Heartbeat", new { })))[1].GetString());
    }

    [Fact]
    public async Task A_connection_without_the_ocpp16_subprotocol_is_refused()
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("ocpp2.0.1");
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Node.Port}/ocpp/cp-0003"), CancellationToken.None));
    }

    [Fact]
    public async Task A_charge_point_that_connects_again_is_served_on_the_new_socket_and_the_old_one_is_closed()
    {
        using var old = await ConnectAsync("cp-0004");
        Assert.Equal(3, (await SendAsync(old, Call("1", "Heartbeat", new { }))).GetArrayLength());

        // Its network dropped while the old socket still looks open to it: it connects again.
        using var renewed = new ClientWebSocket();
        renewed.Options.AddSubProtocol("ocpp1.6");
        renewed.Options.SetRequestHeader("Authorization", Energy.Ocpp.OcppBasicAuthentication.Header("cp-0004", Password));
        await renewed.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Node.Port}/ocpp/cp-0004"), CancellationToken.None);

        var buffer = new byte[4_096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var closing = await old.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal((WebSocketMessageType.Close, WebSocketCloseStatus.PolicyViolation), (closing.MessageType, old.CloseStatus));
        var boot = await SendAsync(renewed, Call("2", "BootNotification", new { chargePointVendor = "Energy", chargePointModel = "Wallbox" }));
        Assert.Equal((3, "2", "Accepted"), (boot[0].GetInt32(), boot[1].GetString(), boot[2].GetProperty("status").GetString()));
    }
}

