using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using Energy.Lifecycles.Registry;
using Energy.Wire;
using Energy.Lifecycles.Charging;

namespace Energy.Lifecycles.Tolls;

/// <summary>An answer decided on a pass: the open pass and the event that resolves it, or the named error that refuses the answer and changes nothing.</summary>
public readonly record struct PassResolution(TollPassState? Pass, IEnergyMessage? Resolution, ProtocolError? Refused);

/// <summary>
/// A vehicle's answer decided on a pass: the open pass and the event it decides, or, when nothing is decided, what the
/// vehicle is answered at once (a <see cref="Refusal"/> by name, or the pass's <see cref="PassView"/> as it stands).
/// </summary>
public readonly record struct PassDecision<TEvent>(TollPassState? Pass, TEvent? Decided, object? Answer) where TEvent : class, IEnergyMessage;

/// <summary>A toll request the book decided on: a pass it already holds (the same request again), or a new one to record.</summary>
public readonly record struct PassDecision(TollPassState? Known, PassRecorded? Recorded, Signed<TollRequest> Request);

/// <summary>
/// A gantry's tariff and passes. Decisions are pure (<c>Decide*</c> returns an event or a named error and
/// changes nothing); <see cref="Apply"/> is the only mutation and is used both live and in recovery, so a
/// recovered book equals the one that was running. Each pass is an immutable <see cref="TollPassState"/>
/// evolved by <see cref="TollPasses.Evolve"/>. The book itself is mutable for speed, as the ledger's is: a
/// gantry records thousands of passes a second and owns its book alone.
/// </summary>
public sealed partial class TollPassBook(DeviceId gantry)
{
    public const int MaxResolvedKept = 10_000;
    public const long RequestClockSkewMs = 30_000;

    private readonly Dictionary<PassId, TollPassState> _passes = new();
    private readonly HashSet<PassId> _open = new();
    private readonly HashSet<PassId> _beingPaid = new();
    private readonly Queue<PassId> _resolvedOrder = new();
    // Keyed by the signed request itself (equal when its bytes are): the pass already holds it, so the index adds no copy.
    private readonly Dictionary<Signed<TollRequest>, PassId> _passByRequest = new();
    private readonly Dictionary<string, TollViolation> _unfiled = new(StringComparer.Ordinal);

    public DeviceId Gantry { get; } = gantry;
    public Signed<GantryTariff>? SignedTariff { get; private set; }
    public GantryTariff? Tariff => SignedTariff?.Payload;
    public DevicePublicKey? GantryKey { get; private set; }
    public long PassCount { get; private set; }
    public long PaidCount { get; private set; }
    public long ViolationCount { get; private set; }
    public long PaidMinorUnits { get; private set; }

    /// <summary>The price the gantry asks now and the one before a change (live only: it follows the tariff, the clock and the zone's traffic).</summary>
    public TollPricing Pricing { get; private set; }

    /// <summary>The vehicles the gantry's zone saw in the last minute, as the zone last said (live only).</summary>
    public int VehiclesInZone { get; private set; }

    public TollPassState? Find(PassId pass) => _passes.GetValueOrDefault(pass);

    public IEnumerable<TollPassState> Open => _open.Select(id => _passes[id]);

    public int OpenCount => _open.Count;

    public IEnumerable<TollViolation> Unfiled => _unfiled.Values;

    public bool IsUnfiled(string violation) => _unfiled.ContainsKey(violation);

    /// <summary>The toll request as the pass's vehicle is asked to pay it: the gantry's signed request, its key, and whom to pay how much.</summary>
    public DeviceEvent RequestNotice(TollPassState pass) =>
        DeviceEvents.Of(pass.Payload.Vehicle, new TollRequestEvent(pass.Id, pass.Request.Wire.ToArray(), GantryKey!.Hex, PartyId.From(Tariff!.Operator),
            pass.Payload.Price.MinorUnits, pass.Payload.Price.Currency));

    /// <summary>The gantry as its callers see it, at the price it asks now.</summary>
    public GantryView View(Money? price) => new(Gantry, Tariff?.Operator, Tariff?.Segment, Tariff?.Zone, Tariff?.Version ?? 0, price,
        PassCount, PaidCount, ViolationCount, PaidMinorUnits);

    /// <summary>The gantry as its callers see it, at the price of <see cref="Pricing"/>.</summary>
    public GantryView View() => View(Pricing.Current);

    /// <summary>What the vehicle's twin is told of a pass: where and when its vehicle was seen, and by whose gantry.</summary>
    public VehicleSeen Seen(TollPassState pass) =>
        new(pass.Payload.Vehicle, Gantry, Tariff!.Operator, Tariff.Zone, Tariff.PositionX, Tariff.PositionY, pass.Payload.Time);

    // Price (live only)

    /// <summary>
    /// The price at <paramref name="now"/>, with the zone's traffic as it last said (<paramref name="vehiclesInZone"/>,
    /// or as before when none). True when the price changed: the gantry is to be told it.
    /// </summary>
    public bool Reprice(Timestamp now, int? vehiclesInZone = null)
    {
        if (vehiclesInZone is { } vehicles) VehiclesInZone = vehicles;
        if (Tariff is not { } tariff) return false;
        var (pricing, changed) = Pricing.Next(tariff, now, VehiclesInZone);
        Pricing = pricing;
        return changed;
    }

    /// <summary>What the gantry asks its zone for its price: the traffic of the last minute, when its tariff prices congestion; none otherwise.</summary>
    public GetZone? ZoneToAsk() => Tariff is { CongestionThreshold: > 0 } tariff ? new GetZone(tariff.Zone) : null;

    /// <summary>What the gantry is told of the price it asks now; none before it has one.</summary>
    public DeviceEvent? PriceNotice() =>
        Pricing.Current is { } price ? DeviceEvents.Of(Gantry, new TollPriceEvent(Gantry, price.MinorUnits, price.Currency, VehiclesInZone)) : null;

    // Decisions

    /// <summary>
    /// The checks of an operator's tariff that need nothing of the registry: its form, network, gantry and
    /// currency, and that it is newer than the one in force. The same tariff again is a repeat (none returned).
    /// </summary>
    public Result<Signed<GantryTariff>?> CheckTariff(byte[] wire, DeviceId gantry, NetworkId network, Currency currency)
    {
        var decoded = Signed<GantryTariff>.Decode(wire);
        if (!decoded.IsOk) return decoded.Error;
        var (signed, tariff) = (decoded.Value, decoded.Value.Payload);
        var checkedTariff = GantryTariffs.Check(tariff);
        if (!checkedTariff.IsOk) return checkedTariff.Error;
        if (tariff.Network != network) return new WrongNetwork(ChannelId.None, network, tariff.Network);
        if (tariff.Gantry != gantry) return new DeviceIdMismatch(gantry, tariff.Gantry);
        if (tariff.Currency != currency) return new CurrencyMismatch(currency, tariff.Currency);
        if (Tariff is { } current && tariff.Version <= current.Version)
            return SignedTariff!.Equals(signed) ? (Signed<GantryTariff>?)null : new TariffNotNewer(gantry, current.Version, tariff.Version);
        return signed;
    }

    /// <summary>
    /// Configures the gantry once the registry answered: the gantry is registered as a gantry, not revoked, of
    /// the tariff's operator, and the operator signed the tariff. A registry that gave no answer in time
    /// (<paramref name="device"/> or <paramref name="tollOperator"/> null) configures nothing.
    /// </summary>
    public static Result<GantryConfigured> DecideConfigure(Signed<GantryTariff> signed, byte[] wire, DeviceId gantry, object? device, object? tollOperator, Timestamp now)
    {
        var tariff = signed.Payload;
        if (device is null || tollOperator is null) return new NotAnsweredInTime("registry");
        if (device is not DeviceView view) return new DeviceNotFound(gantry);
        if (view.Role != DeviceRole.Gantry) return new Energy.Lifecycles.Charging.DeviceRoleRefused(gantry, view.Role.ToString(), "Gantry");
        if (view.Revoked) return new DeviceIsRevoked(gantry, view.RevokedAt ?? now);
        if (view.Operator != tariff.Operator) return new EndorsementMismatch(gantry, "operator", view.Operator.Value, tariff.Operator.Value);
        if (tollOperator is not OperatorView operatorView) return new OperatorNotFound(tariff.Operator);
        var operatorKey = DevicePublicKey.FromHex(operatorView.PublicKeyHex);
        if (!operatorKey.IsOk || !signed.IsSignedBy(operatorKey.Value)) return new InvalidSignature(ChannelId.None, ObjectKind.GantryTariff, tariff.Operator.Value);
        return new GantryConfigured(wire, view.PublicKeyHex);
    }

    /// <summary>
    /// A toll request from the gantry: for this network, gantry and segment, signed by the gantry's key, near
    /// the network's clock, at the price asked (or the one before, within its grace). The same request again is
    /// the same pass.
    /// </summary>
    public Result<PassDecision> DecidePass(byte[] wire, NetworkId network, bool gantryRevoked, TollPricing pricing, Timestamp now)
    {
        var checkedRequest = CheckRequest(wire, network, gantryRevoked, pricing, now);
        if (!checkedRequest.IsOk) return checkedRequest.Error;
        var signed = checkedRequest.Value;
        if (_passByRequest.TryGetValue(signed, out var existing) && _passes.TryGetValue(existing, out var known))
            return new PassDecision(known, null, signed);
        return new PassDecision(null, new PassRecorded(new PassId(Gantry, (ulong)PassCount + 1), signed.ToArray(), now), signed);
    }

    /// <summary>A toll request from the gantry, at the price the book asks now (see <see cref="DecidePass(byte[], NetworkId, bool, TollPricing, Timestamp)"/>).</summary>
    public Result<PassDecision> DecidePass(byte[] wire, NetworkId network, bool gantryRevoked, Timestamp now) => DecidePass(wire, network, gantryRevoked, Pricing, now);

    private Result<Signed<TollRequest>> CheckRequest(byte[] wire, NetworkId network, bool gantryRevoked, TollPricing pricing, Timestamp now)
    {
        if (Tariff is not { } tariff) return new GantryNotConfigured(Gantry);
        var decoded = Signed<TollRequest>.Decode(wire);
        if (!decoded.IsOk) return decoded.Error;
        var request = decoded.Value.Payload;
        if (request.Network != network) return new WrongNetwork(ChannelId.None, network, request.Network);
        if (request.Gantry != Gantry) return new TollRequestRefused(Gantry, "gantry", Gantry.Value, request.Gantry.Value);
        if (gantryRevoked) return new DeviceIsRevoked(Gantry, now);
        if (!decoded.Value.IsSignedBy(GantryKey!)) return new InvalidSignature(ChannelId.None, ObjectKind.TollRequest, Gantry.Value);
        if (request.Segment != tariff.Segment) return new TollRequestRefused(Gantry, "segment", tariff.Segment.Value, request.Segment.Value);
        // A gantry's clock may drift a little; a request far from the network's clock is a replay or a broken gantry.
        var skew = Math.Abs(request.Time.UnixMilliseconds - now.UnixMilliseconds);
        if (skew > RequestClockSkewMs) return new TollRequestRefused(Gantry, "time", $"within {RequestClockSkewMs / 1000} s of the network's clock", $"{skew} ms off");
        if (!pricing.Accepts(request.Price, now))
            return new TollPriceChanged(Gantry, pricing.Current!.Value, request.Price);
        return decoded.Value;
    }

    /// <summary>A request refused for its price: the gantry is to be told the current one, so that it asks again at once.</summary>
    public static bool AsksCurrentPrice(ProtocolError refusal) => refusal is TollPriceChanged;

    /// <summary>
    /// The open passes not paid within the answer time, each resolved by one violation; a pass being paid (its
    /// voucher is with the channel) waits for the channel's answer instead.
    /// </summary>
    public IReadOnlyList<ViolationRecorded> DecideLate(long answerTimeoutMs, Timestamp now)
    {
        if (_open.Count == 0 || Tariff is not { } tariff) return [];
        return Open.Where(p => !_beingPaid.Contains(p.Id)).Select(p => TollPasses.DecideLate(p, tariff.Operator, answerTimeoutMs, now)).OfType<ViolationRecorded>().ToList();
    }

    // Answers of the pass's vehicle and of its channel

    /// <summary>How a vehicle's answer to pass <paramref name="id"/> is taken (see <see cref="TollPasses.CheckAnswer"/>).</summary>
    public PassAnswer CheckAnswer(PassId id, DeviceId vehicle, bool refuseWhileBeingPaid) =>
        TollPasses.CheckAnswer(Find(id), id, vehicle, IsBeingPaid(id), refuseWhileBeingPaid);

    /// <summary>
    /// A vehicle's voucher for pass <paramref name="id"/>: the open pass and what the voucher decides (one violation,
    /// or the channel it goes to; see <see cref="TollPasses.DecidePayment"/>), or what the vehicle is answered at once
    /// instead: why it is refused (a pass being paid already takes no second voucher), or how the pass stands.
    /// </summary>
    public PassDecision<IEnergyMessage> DecidePay(PassId id, DeviceId vehicle, Result<Signed<Voucher>> voucher, Timestamp now)
    {
        var answer = CheckAnswer(id, vehicle, refuseWhileBeingPaid: true);
        return answer.Pass is { } pass ? new(pass, TollPasses.DecidePayment(pass, Tariff!.Operator, voucher, now), null) : new(null, null, answer.Reply);
    }

    /// <summary>
    /// A vehicle says it cannot pay pass <paramref name="id"/>: the open pass and its one violation (see
    /// <see cref="TollPasses.DecideDecline"/>), or what the vehicle is answered at once instead: why it is refused, or
    /// how the pass stands (a pass being paid waits for its channel's answer).
    /// </summary>
    public PassDecision<ViolationRecorded> DecideDecline(PassId id, DeviceId vehicle, string reason, Timestamp now)
    {
        var answer = CheckAnswer(id, vehicle, refuseWhileBeingPaid: false);
        return answer.Pass is { } pass ? new(pass, TollPasses.DecideDecline(pass, Tariff!.Operator, reason, now), null) : new(null, null, answer.Reply);
    }

    /// <summary>
    /// The channel's answer to the voucher of pass <paramref name="id"/> resolves it (see <see cref="TollPasses.DecideAnswer"/>).
    /// An answer that comes once the pass is resolved (its deadline passed while the channel checked the voucher) or
    /// forgotten resolves nothing: it is refused by name, and the payer hears how the pass stands.
    /// </summary>
    public PassResolution DecideAnswer(PassId id, Signed<Voucher> voucher, object? answer, Timestamp now)
    {
        if (!_passes.TryGetValue(id, out var pass)) return new PassResolution(null, null, new PassNotFound(id));
        if (!pass.IsOpen) return new PassResolution(null, null, new PassAlreadyResolved(id, pass.Status));
        return new PassResolution(pass, TollPasses.DecideAnswer(pass, Tariff!.Operator, voucher, answer, now), null);
    }

    /// <summary>
    /// What the channel found paid for pass <paramref name="id"/> after a restart: the pass paid, or none (not paid,
    /// no answer, or the pass resolved meanwhile), and then its deadline decides, as for any pass.
    /// </summary>
    public PassPaid? DecideFound(PassId id, object? answer, Timestamp now)
    {
        PaymentEnded(id);
        return Find(id) is { IsOpen: true } pass ? TollPasses.DecideFound(pass, Tariff!.Operator, answer, now) : null;
    }

    /// <summary>The violations not acknowledged by the operator's toll office yet, at most <paramref name="max"/>, as they are filed with it.</summary>
    public IReadOnlyList<FileViolation> ToFile(int max)
    {
        var filings = new List<FileViolation>(Math.Min(max, _unfiled.Count));
        foreach (var violation in _unfiled.Values)
        {
            if (filings.Count == max) break;
            filings.Add(new FileViolation(violation.Operator, violation));
        }
        return filings;
    }

    // Payments with the channel (live only: after a restart, the passes whose channel is known are asked about again)

    /// <summary>
    /// After a restart: the open passes whose voucher was handed to a channel, now waiting for that channel to say what
    /// it holds (the channel may have persisted the voucher while the book did not learn so); none of them is late meanwhile.
    /// </summary>
    public IReadOnlyList<TollPassState> ResumePayments()
    {
        var handed = HandedToChannel;
        foreach (var pass in handed) PaymentStarted(pass.Id);
        return handed;
    }

    /// <summary>Whether the pass's voucher is with its channel: a second voucher is refused, and its deadline waits for the channel's answer.</summary>
    public bool IsBeingPaid(PassId pass) => _beingPaid.Contains(pass);

    /// <summary>The pass's voucher goes to its channel, or the channel is asked what was paid for it: it is not late while the channel answers.</summary>
    public void PaymentStarted(PassId pass)
    {
        if (_open.Contains(pass)) _beingPaid.Add(pass);
    }

    /// <summary>The channel answered, or gave no answer in time: the pass is resolved by that answer, or by its deadline.</summary>
    public void PaymentEnded(PassId pass) => _beingPaid.Remove(pass);

    /// <summary>The open passes a voucher was handed to a channel for before a restart: the channel may hold it while the book does not know.</summary>
    public IReadOnlyList<TollPassState> HandedToChannel => Open.Where(p => p.Channel is not null).ToList();

    // Evolving

    /// <summary>The one way the book changes, live and in recovery alike.</summary>
    public void Apply(IEnergyMessage e)
    {
        switch (e)
        {
            case GantryConfigured c:
                SignedTariff = Signed<GantryTariff>.Decode(c.Tariff).Unwrap();
                GantryKey = DevicePublicKey.FromHex(c.GantryKeyHex).Unwrap();
                break;
            case PassRecorded r:
                Apply(r, Signed<TollRequest>.Decode(r.Request).Unwrap());
                break;
            case PassPaymentSubmitted s:
                Evolve(s.Pass, s);
                break;
            case PassPaid p:
                if (Evolve(p.Pass, p) is not { Status: PassStatus.Paid }) break;
                PaidCount++;
                PaidMinorUnits += p.Paid.MinorUnits;
                Resolved(p.Pass);
                break;
            case ViolationRecorded v:
                if (Evolve(v.Violation.Pass, v) is not { Status: PassStatus.Violation }) break;
                ViolationCount++;
                _unfiled[v.Violation.Id] = v.Violation;
                Resolved(v.Violation.Pass);
                break;
            case ViolationFiledRecorded f:
                _unfiled.Remove(f.Violation);
                break;
        }
    }

    /// <summary>
    /// Takes the resolution of an open pass at once, so that nothing resolves the pass a second time while it is
    /// written; the pass as it resolved (the book holds it, unless it forgot it already among the oldest resolved).
    /// </summary>
    public TollPassState Resolve(TollPassState pass, IEnergyMessage resolution)
    {
        Apply(resolution);
        return Find(pass.Id) ?? TollPasses.Evolve(pass, resolution);
    }

    /// <summary>Takes the resolution the book decided on one of its open passes (see <see cref="Resolve(TollPassState, IEnergyMessage)"/>).</summary>
    public TollPassState Resolve(IEnergyMessage resolution) =>
        Resolve(Find(TollPasses.PassOf(resolution)) ?? throw new InvalidOperationException($"{Gantry} resolves a pass it does not hold: {resolution}"), resolution);

    /// <summary>
    /// Takes a new pass the book decided at once (live), so that the next request gets the next number and a retry
    /// finds it; the pass recorded. Its event is written after (see <see cref="Apply(PassRecorded, Signed{TollRequest})"/>).
    /// </summary>
    public TollPassState Take(PassDecision decided)
    {
        var recorded = decided.Recorded ?? throw new ArgumentException("a pass the book holds already is not taken again", nameof(decided));
        Apply(recorded, decided.Request);
        return Find(recorded.Pass)!;
    }

    /// <summary>Records a pass whose request is decoded already (live, the decision decoded it; in recovery, <see cref="Apply(IEnergyMessage)"/> does).</summary>
    public void Apply(PassRecorded recorded, Signed<TollRequest> request)
    {
        if (_passes.ContainsKey(recorded.Pass)) return;
        _passes[recorded.Pass] = TollPasses.Recorded(recorded, request);
        _open.Add(recorded.Pass);
        _passByRequest[request] = recorded.Pass;
        PassCount = Math.Max(PassCount, (long)recorded.Pass.Number);
    }

    /// <summary>Evolves an open pass; the pass after, or none when the book does not hold it open (it resolved once already, or was forgotten).</summary>
    private TollPassState? Evolve(PassId id, IEnergyMessage e)
    {
        if (!_open.Contains(id) || !_passes.TryGetValue(id, out var pass)) return null;
        var next = TollPasses.Evolve(pass, e);
        _passes[id] = next;
        return next;
    }

    /// <summary>Keeps a bounded number of resolved passes for answering retries; the oldest are forgotten.</summary>
    private void Resolved(PassId id)
    {
        _open.Remove(id);
        _beingPaid.Remove(id);
        _resolvedOrder.Enqueue(id);
        while (_resolvedOrder.Count > MaxResolvedKept)
        {
            var old = _resolvedOrder.Dequeue();
            if (_passes.Remove(old, out var gone)) _passByRequest.Remove(gone.Request);
        }
    }
}
