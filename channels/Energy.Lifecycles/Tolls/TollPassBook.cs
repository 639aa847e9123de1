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

/// <summary>A toll request the book decided on: a pass it already holds (the same request again, as it stands), or a new one to record.</summary>
public readonly record struct PassDecision(PassView? Known, PassRecorded? Recorded, Signed<TollRequest> Request);

/// <summary>
/// An operator's tariff the book decided on before the registry is asked: the tariff whose gantry and operator are to be
/// looked up, or, when nothing is to be looked up, what whoever configured the gantry is answered at once (a
/// <see cref="Refusal"/> by name, or the gantry as it stands for the same tariff again).
/// </summary>
public readonly record struct TariffDecision(Signed<GantryTariff>? ToLookUp, object? Answer);

/// <summary>
/// A gantry's tariff and passes. Decisions are pure (<c>Decide*</c> returns an event or a named error and
/// changes nothing); <see cref="Apply"/> is the only mutation and is used both live and in recovery, so a
/// recovered book equals the one that was running. Each pass is an immutable <see cref="TollPassState"/>
/// evolved by <see cref="TollPasses.Evolve"/>. The book itself is mutable for speed, as the ledger's is: a
/// gantry records thousands of passes a second and owns its book alone.
/// An open pass is kept whole. A resolved one is kept, for retries, only as the values of its view and its request's
/// digest, in a plain value with no reference to anything young: a busy gantry remembers ten thousand of them, and
/// objects kept per pass would be copied by every young garbage collection while the gantry serves.
/// </summary>
public sealed partial class TollPassBook(DeviceId gantry)
{
    public const int MaxResolvedKept = 10_000;
    public const long RequestClockSkewMs = 30_000;

    private readonly Dictionary<PassId, TollPassState> _open = new();
    private readonly HashSet<PassId> _beingPaid = new();
    private readonly Dictionary<ulong, ResolvedPass> _resolved = new();
    private readonly Queue<ulong> _resolvedOrder = new();
    private readonly Dictionary<RequestDigest, ulong> _passByRequest = new();
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

    /// <summary>An open pass; none when the pass resolved or the book does not know it.</summary>
    public TollPassState? FindOpen(PassId pass) => _open.GetValueOrDefault(pass);

    /// <summary>A pass as it stands, open or resolved; none when the book does not know it (or forgot it among the oldest resolved).</summary>
    public PassView? ViewOf(PassId pass) =>
        _open.TryGetValue(pass, out var open) ? open.View()
        : pass.Gantry == Gantry && _resolved.TryGetValue(pass.Number, out var resolved) ? resolved.View(pass) : null;

    public IEnumerable<TollPassState> Open => _open.Values;

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
    /// An operator's tariff, before the registry is asked (see <see cref="CheckTariff"/>): a new tariff is looked up; one
    /// refused is answered with its named error, and the same tariff again with the gantry as it stands, both at once.
    /// </summary>
    public TariffDecision DecideTariff(byte[] wire, DeviceId gantry, NetworkId network, Currency currency)
    {
        var checkedTariff = CheckTariff(wire, gantry, network, currency);
        if (!checkedTariff.IsOk) return new TariffDecision(null, Refusal.From(checkedTariff.Error));
        return checkedTariff.Value is { } tariff ? new TariffDecision(tariff, null) : new TariffDecision(null, View());
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
        if (_passByRequest.TryGetValue(RequestDigest.Of(signed), out var existing) && ViewOf(new PassId(Gantry, existing)) is { } known)
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
        return _open.Values.Where(p => !_beingPaid.Contains(p.Id)).Select(p => TollPasses.DecideLate(p, tariff.Operator, answerTimeoutMs, now)).OfType<ViolationRecorded>().ToList();
    }

    // Answers of the pass's vehicle and of its channel

    /// <summary>How a vehicle's answer to pass <paramref name="id"/> is taken (see <see cref="TollPasses.CheckAnswer"/>).</summary>
    public PassAnswer CheckAnswer(PassId id, DeviceId vehicle, bool refuseWhileBeingPaid)
    {
        if (FindOpen(id) is { } open) return TollPasses.CheckAnswer(open, id, vehicle, IsBeingPaid(id), refuseWhileBeingPaid);
        if (ViewOf(id) is not { } resolved) return new PassAnswer(null, new PassNotFound(id), null);
        return resolved.Vehicle == vehicle ? new PassAnswer(null, null, resolved) : new PassAnswer(null, new NotPassVehicle(id, vehicle), null);
    }

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
        if (FindOpen(id) is { } pass) return new PassResolution(pass, TollPasses.DecideAnswer(pass, Tariff!.Operator, voucher, answer, now), null);
        return new PassResolution(null, null, ViewOf(id) is { } resolved ? new PassAlreadyResolved(id, resolved.Status) : new PassNotFound(id));
    }

    /// <summary>
    /// What the channel found paid for pass <paramref name="id"/> after a restart: the pass paid, or none (not paid,
    /// no answer, or the pass resolved meanwhile), and then its deadline decides, as for any pass.
    /// </summary>
    public PassPaid? DecideFound(PassId id, object? answer, Timestamp now)
    {
        PaymentEnded(id);
        return FindOpen(id) is { } pass ? TollPasses.DecideFound(pass, Tariff!.Operator, answer, now) : null;
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

    /// <summary>
    /// The operator's toll office acknowledged <paramref name="violation"/>: the acknowledgement to record while the book
    /// still files the violation; none when it was acknowledged already or is not one of this gantry's, so that an
    /// acknowledgement repeated by the office writes nothing.
    /// </summary>
    public ViolationFiledRecorded? DecideFiled(string violation) => _unfiled.ContainsKey(violation) ? new ViolationFiledRecorded(violation) : null;

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
        if (_open.ContainsKey(pass)) _beingPaid.Add(pass);
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
                if (Evolve(p.Pass, p) is not { Status: PassStatus.Paid } paid) break;
                PaidCount++;
                PaidMinorUnits += p.Paid.MinorUnits;
                Resolved(paid);
                break;
            case ViolationRecorded v:
                if (Evolve(v.Violation.Pass, v) is not { Status: PassStatus.Violation } violated) break;
                ViolationCount++;
                _unfiled[v.Violation.Id] = v.Violation;
                Resolved(violated);
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
        return TollPasses.Evolve(pass, resolution);
    }

    /// <summary>Takes the resolution the book decided on one of its open passes (see <see cref="Resolve(TollPassState, IEnergyMessage)"/>).</summary>
    public TollPassState Resolve(IEnergyMessage resolution) =>
        Resolve(FindOpen(TollPasses.PassOf(resolution)) ?? throw new InvalidOperationException($"{Gantry} resolves a pass it does not hold: {resolution}"), resolution);

    /// <summary>
    /// Takes a new pass the book decided at once (live), so that the next request gets the next number and a retry
    /// finds it; the pass recorded. Its event is written after (see <see cref="Apply(PassRecorded, Signed{TollRequest})"/>).
    /// </summary>
    public TollPassState Take(PassDecision decided)
    {
        var recorded = decided.Recorded ?? throw new ArgumentException("a pass the book holds already is not taken again", nameof(decided));
        Apply(recorded, decided.Request);
        return FindOpen(recorded.Pass)!;
    }

    /// <summary>Records a pass whose request is decoded already (live, the decision decoded it; in recovery, <see cref="Apply(IEnergyMessage)"/> does).</summary>
    public void Apply(PassRecorded recorded, Signed<TollRequest> request)
    {
        if (recorded.Pass.Gantry != Gantry || _open.ContainsKey(recorded.Pass) || _resolved.ContainsKey(recorded.Pass.Number)) return;
        _open[recorded.Pass] = TollPasses.Recorded(recorded, request);
        _passByRequest[RequestDigest.Of(request)] = recorded.Pass.Number;
        PassCount = Math.Max(PassCount, (long)recorded.Pass.Number);
    }

    /// <summary>Evolves an open pass; the pass after, or none when the book does not hold it open (it resolved once already, or was forgotten).</summary>
    private TollPassState? Evolve(PassId id, IEnergyMessage e)
    {
        if (!_open.TryGetValue(id, out var pass)) return null;
        var next = TollPasses.Evolve(pass, e);
        _open[id] = next;
        return next;
    }

    /// <summary>Keeps a bounded number of resolved passes for answering retries; the oldest are forgotten.</summary>
    private void Resolved(TollPassState pass)
    {
        _open.Remove(pass.Id);
        _beingPaid.Remove(pass.Id);
        _resolved[pass.Id.Number] = ResolvedPass.Of(pass);
        _resolvedOrder.Enqueue(pass.Id.Number);
        while (_resolvedOrder.Count > MaxResolvedKept)
        {
            var old = _resolvedOrder.Dequeue();
            if (_resolved.Remove(old, out var gone)) _passByRequest.Remove(gone.Request);
        }
    }

    /// <summary>
    /// A resolved pass as the book remembers it: what its view shows and its request's digest. Its only reference is
    /// the vehicle's id, which the identifier pool shares with every other read of it.
    /// </summary>
    private readonly record struct ResolvedPass(RequestDigest Request, DeviceId Vehicle, Money Price, PassStatus Status, long? PaidMinorUnits,
        ViolationCause? Violation)
    {
        public static ResolvedPass Of(TollPassState pass) =>
            new(RequestDigest.Of(pass.Request), pass.Payload.Vehicle, pass.Payload.Price, pass.Status, pass.PaidMinorUnits, pass.Violation);

        public PassView View(PassId id) => new(id, id.Gantry, Vehicle, Price, Status, PaidMinorUnits, Violation);
    }
}

/// <summary>
/// A toll request known by the first 128 bits of the SHA-256 of its signed bytes: the same request again has the same
/// digest. Two requests with one digest take about 2^64 hashes to find, and only the gantry signs requests: all it
/// would gain is its own second request answered as its first.
/// </summary>
public readonly record struct RequestDigest(UInt128 Value)
{
    public static RequestDigest Of(Signed<TollRequest> request)
    {
        Span<byte> hash = stackalloc byte[System.Security.Cryptography.SHA256.HashSizeInBytes];
        System.Security.Cryptography.SHA256.HashData(request.Wire, hash);
        return new RequestDigest(System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(hash));
    }
}
