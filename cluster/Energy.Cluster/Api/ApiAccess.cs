using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Microsoft.AspNetCore.Http;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Market;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Api;

/// <summary>
/// Who may see what through the API. The grid operator sees everything. Otherwise ownership decides: an
/// operator sees itself, its devices and their accounts, channels and sessions (a charge point operator its
/// chargers' sessions, a fleet owner its vehicles', a toll operator its gantries and violations); a device
/// sees itself, its account, and the channels and sessions it is a party to. A refusal says only that the
/// thing is not visible, never what it holds.
/// </summary>
public static class ApiAccess
{
    public static Task<object> GridOnly(ApiCaller caller, string what, Func<Task<object>> read) =>
        caller.SeesEverything ? read() : Task.FromResult<object>(Refusal.From(new NotVisible(what, caller.Party.Value)));

    public static async Task<object> OperatorAsync(ApiCaller caller, EnergyNetwork network, OperatorId id, CancellationToken token) =>
        caller.SeesEverything || caller.Party.Is(id) || caller.DeviceOperator == id
            ? await network.Ask(new GetOperator(id), token)
            : Hidden($"operator {id}", caller);

    public static async Task<object> DeviceAsync(ApiCaller caller, EnergyNetwork network, DeviceId id, CancellationToken token)
    {
        var answer = await network.Ask(new GetDevice(id), token);
        if (caller.SeesEverything || caller.Party.Is(id)) return answer;
        return answer is DeviceView view && caller.Owns(PartyId.From(id), view.Operator) ? answer : Hidden($"device {id}", caller);
    }

    public static async Task<object> AccountAsync(ApiCaller caller, EnergyNetwork network, PartyId account, CancellationToken token)
    {
        if (!await MaySeeAsync(caller, network, account, token)) return Hidden($"account {account}", caller);
        return await network.Ask(new GetAccount(network.ShardOf(account), account), token);
    }

    public static async Task<object> ChannelAsync(ApiCaller caller, EnergyNetwork network, ChannelId id, CancellationToken token) =>
        await VisibleToPartiesAsync(caller, network, await network.Ask(new GetChannel(id), token), $"channel {id}",
            answer => answer is ChannelView { Payer: { } payer, Payee: { } payee } ? [payer, payee] : [], token);

    public static async Task<object> DuplexChannelAsync(ApiCaller caller, EnergyNetwork network, ChannelId id, CancellationToken token) =>
        await VisibleToPartiesAsync(caller, network, await network.Ask(new GetDuplexChannel(id), token), $"duplex channel {id}",
            answer => answer is DuplexChannelView { PartyA: { } a, PartyB: { } b } ? [a, b] : [], token);

    public static async Task<object> SessionAsync(ApiCaller caller, EnergyNetwork network, SessionId id, CancellationToken token) =>
        await VisibleToPartiesAsync(caller, network, await network.Ask(new Energy.Lifecycles.Charging.GetSession(id), token), $"session {id}",
            answer => answer is Energy.Lifecycles.Charging.SessionView view ? [PartyId.From(view.Vehicle), PartyId.From(view.Charger)] : [], token);

    /// <summary>An answer about something between parties (a channel, a session): visible to whoever may see one of them.</summary>
    private static async Task<object> VisibleToPartiesAsync(ApiCaller caller, EnergyNetwork network, object answer, string what,
        Func<object, PartyId[]> partiesOf, CancellationToken token)
    {
        if (caller.SeesEverything) return answer;
        foreach (var party in partiesOf(answer))
            if (await MaySeeAsync(caller, network, party, token)) return answer;
        return Hidden(what, caller);
    }

    public static async Task<object> GantryAsync(ApiCaller caller, EnergyNetwork network, DeviceId id, CancellationToken token)
    {
        var answer = await network.Ask(new Energy.Lifecycles.Tolls.GetGantry(id), token);
        if (caller.SeesEverything || caller.Party.Is(id)) return answer;
        return answer is Energy.Lifecycles.Tolls.GantryView { Operator: { } op } && caller.Party.Is(op) ? answer : Hidden($"gantry {id}", caller);
    }

    public static async Task<object> ViolationsAsync(ApiCaller caller, EnergyNetwork network, OperatorId tollOperator, CancellationToken token) =>
        caller.SeesEverything || caller.Party.Is(tollOperator)
            ? await network.Ask(new Energy.Lifecycles.Tolls.GetViolations(tollOperator), token)
            : Hidden($"the violations of {tollOperator}", caller);

    /// <summary>Zone figures (vehicles, speed) are the road's, not one operator's: the grid operator and toll operators see them.</summary>
    public static async Task<object> ZoneAsync(ApiCaller caller, EnergyNetwork network, SegmentId zone, CancellationToken token) =>
        caller.SeesEverything || caller.Has(OperatorRoles.TollOperator)
            ? await network.Ask(new Energy.Lifecycles.Tolls.GetZone(zone), token)
            : Hidden($"zone {zone}", caller);

    /// <summary>The ledger's totals (issuance, conservation): the grid operator and settlement banks.</summary>
    public static async Task<object> TotalsAsync(ApiCaller caller, EnergyNetwork network, CancellationToken token) =>
        caller.SeesEverything || caller.Has(OperatorRoles.SettlementBank)
            ? await network.TotalsAsync(token)
            : Hidden("the ledger totals", caller);

    /// <summary>Alerts about devices: the grid operator sees all; an operator those about its own devices; a device those about itself.</summary>
    public static async Task<object> AlertsAsync(ApiCaller caller, EnergyNetwork network, CancellationToken token)
    {
        var answer = await network.AlertsAsync(token);
        if (caller.SeesEverything || answer is not AlertList list) return answer;
        var owners = new Dictionary<DeviceId, OperatorId?>();
        var visible = new List<Alert>();
        foreach (var alert in list.Latest)
        {
            if (!owners.TryGetValue(alert.Device, out var owner))
                owners[alert.Device] = owner = await network.Ask(new GetDevice(alert.Device), token) is DeviceView view ? view.Operator : null;
            if (caller.Owns(PartyId.From(alert.Device), owner)) visible.Add(alert);
        }
        return new AlertList(visible.Count, visible);
    }

    /// <summary>
    /// An interval of a zone's market: the grid operator sees everything (depth, price, volume, delivery,
    /// imbalance, every line); a meter sees only its own orders, fills and settlement line; anyone else nothing.
    /// </summary>
    public static async Task<object> MarketIntervalAsync(ApiCaller caller, EnergyNetwork network, Energy.Channels.Market.MarketInterval interval, CancellationToken token)
    {
        if (caller.SeesEverything) return await network.Ask(new GetMarketInterval(interval.Zone, interval.Number), token);
        if (caller.Party.IsDevice) return await network.Ask(new GetMarketFills(interval.Zone, interval.Number, caller.Party.AsDevice()), token);
        return Hidden($"the market interval {interval}", caller);
    }

    /// <summary>Only a grid operator settles a zone's interval, and its own account is the counterparty of every payment.</summary>
    public static async Task<object> SettleMarketIntervalAsync(ApiCaller caller, EnergyNetwork network, Energy.Channels.Market.MarketInterval interval,
        HttpRequest request, CancellationToken token)
    {
        if (!caller.SeesEverything) return Refusal.From(new NotPermitted(caller.Party.Value, $"settle {interval}", "only the grid operator settles a zone's market"));
        // A write carries its own signature: a browser's sign-in session reads, it never settles.
        if (!request.Headers.Authorization.ToString().StartsWith(ApiAuthenticator.Scheme + " ", StringComparison.Ordinal))
            return Refusal.From(new Unauthenticated("a settlement is a signed request"));
        MarketSettlementRequest? body;
        try { body = await request.ReadFromJsonAsync<MarketSettlementRequest>(Serialization.EnergyJson.Options, token); }
        // Not JSON, or not of a JSON content type: no body (refused below as missing evidence).
        catch (Exception exception) when (exception is System.Text.Json.JsonException or InvalidOperationException) { body = null; }
        var proofs = MarketSettlementRequest.Proofs(body, network.Settings.MarketRules.MaxOrdersPerInterval);
        if (!proofs.IsOk) return Refusal.From(proofs.Error!);
        return await network.Ask(new SettleMarketInterval(interval.Zone, interval.Number, caller.Party.AsOperator(), proofs.Value), token);
    }

    /// <summary>Whether the caller is the party, or owns it (the party is one of its devices).</summary>
    public static async Task<bool> MaySeeAsync(ApiCaller caller, EnergyNetwork network, PartyId party, CancellationToken token)
    {
        if (caller.SeesEverything || caller.Party == party) return true;
        if (!caller.Party.IsOperator || !party.IsDevice) return false;
        return await network.Ask(new GetDevice(party.AsDevice()), token) is DeviceView view && caller.Party.Is(view.Operator);
    }

    private static Refusal Hidden(string what, ApiCaller caller) => Refusal.From(new NotVisible(what, caller.Party.Value));
}

/// <summary>
/// One participant's meter readings in a settlement request: its device, "bid" or "offer", base64 of each signed reading, and
/// the streaming channel it keeps with the market's operator (over which it pays, or is paid, the interval).
/// </summary>
public sealed record DeliveryProofRequest(string Participant, string Side, string? Start, string? End, string? Channel = null);

/// <summary>The body of a grid operator's settlement of a market interval.</summary>
public sealed record MarketSettlementRequest(IReadOnlyList<DeliveryProofRequest>? Evidence)
{
    public static Result<IReadOnlyList<DeliveryProof>> Proofs(MarketSettlementRequest? body, int maxParticipants)
    {
        if (body?.Evidence is not { } evidence) return new MalformedValue("evidence", "(missing)", "a list of delivery proofs");
        if (evidence.Count > 2 * maxParticipants) return new MalformedValue("evidence", $"{evidence.Count} proofs", $"at most {2 * maxParticipants}");
        var proofs = new List<DeliveryProof>(evidence.Count);
        foreach (var item in evidence)
        {
            if (item is null) return new MalformedValue("evidence", "null", "a delivery proof");
            var device = DeviceId.Parse(item.Participant);
            if (!device.IsOk) return device.Error!;
            Energy.Channels.Market.MarketSide? side = item.Side switch
            {
                "bid" => Energy.Channels.Market.MarketSide.Bid,
                "offer" => Energy.Channels.Market.MarketSide.Offer,
                _ => null,
            };
            if (side is null) return new MalformedValue("side", item.Side ?? "(null)", "bid or offer");
            if (!TryBase64(item.Start, out var start) || !TryBase64(item.End, out var end))
                return new MalformedValue("reading", "(not base64 or over 1 KiB)", "base64 of a signed meter reading");
            ChannelId? channel = null;
            if (item.Channel is not null)
            {
                var parsed = ChannelId.Parse(item.Channel);
                if (!parsed.IsOk) return parsed.Error!;
                channel = parsed.Value;
            }
            proofs.Add(new DeliveryProof(device.Value, side.Value, start, end, channel));
        }
        return proofs;
    }

    private static bool TryBase64(string? text, out byte[]? bytes)
    {
        bytes = null;
        if (text is null) return true;
        if (text.Length > 1_024) return false;
        try { bytes = Convert.FromBase64String(text); return true; }
        catch (FormatException) { return false; }
    }
}
