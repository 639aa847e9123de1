using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Channels.Tolls;
using Energy.Lifecycles.Registry;

namespace Energy.Lifecycles.Tolls;

/// <summary>A gantry's periodic work, each its own timer's key and message: deadlines swept, violations filed again, the zone asked for its traffic.</summary>
public enum GantryTick { Sweep, File, Zone }

public sealed partial class TollPassBook
{
    /// <summary>How often the open passes are swept for deadlines passed.</summary>
    public static readonly TimeSpan SweepEvery = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the violations not acknowledged are filed again with the operator's toll office.</summary>
    public static readonly TimeSpan FileEvery = TimeSpan.FromSeconds(1);

    /// <summary>How often a priced gantry asks its zone for the traffic its price follows.</summary>
    public static readonly TimeSpan ZoneEvery = TimeSpan.FromSeconds(1);

    /// <summary>The violations filed at once, at most: the rest wait for the next turn.</summary>
    public const int MaxFiledAtOnce = 1_000;

    // Boxed once, and the turns with nothing to do are made once: a tick allocates nothing when it finds no work.
    private static readonly object SweepTick = GantryTick.Sweep;
    private static readonly object FileTick = GantryTick.File;
    private static readonly object ZoneTick = GantryTick.Zone;
    private static readonly Effect[] SweepAgain = [Effect.StartTimer(SweepTick, SweepEvery)];
    private static readonly Effect[] FileAgain = [Effect.StartTimer(FileTick, FileEvery)];
    private static readonly Effect[] ZoneAgain = [Effect.StartTimer(ZoneTick, ZoneEvery)];

    /// <summary>
    /// After recovery: the deadlines are swept from now on, the violations not acknowledged are filed again at once,
    /// and a configured gantry works out its price (see <see cref="Priced"/>).
    /// </summary>
    public Effect[] Resumed(Timestamp now) => [.. SweepAgain, .. Filing(), .. Priced(now)];

    /// <summary>Once a tariff is durable: the gantry works out its price at it (see <see cref="Priced"/>), and whoever configured it hears the gantry at that price.</summary>
    public Effect[] Configured(Timestamp now) => [.. Priced(now), Effect.Reply(View())];

    /// <summary>
    /// A gantry with a tariff works out its price at <paramref name="now"/> (the gantry is told it when it changed,
    /// see <see cref="Repriced"/>) and asks its zone for the traffic from now on; one without does neither.
    /// </summary>
    public Effect[] Priced(Timestamp now) => Tariff is null ? [] : [.. Repriced(now), .. ZoneAgain];

    /// <summary>
    /// The price at <paramref name="now"/>, with the zone's traffic as it last said (<paramref name="vehiclesInZone"/>,
    /// or as before when none): the gantry is told it when it changed; nothing follows otherwise.
    /// </summary>
    public Effect[] Repriced(Timestamp now, int? vehiclesInZone = null) =>
        Reprice(now, vehiclesInZone) && PriceNotice() is { } notice ? [Effect.Push(notice)] : [];

    /// <summary>
    /// The gantry calls from a connection it was not known on: what it was told on its old one is lost, so it is told its
    /// price again; a gantry without a price yet is told nothing.
    /// </summary>
    public Effect[] Reconnected() => PriceNotice() is { } notice ? [Effect.Push(notice)] : [];

    /// <summary>
    /// A toll request refused is answered with its named error; one refused for its price tells the gantry the
    /// current price first, so that it asks again at once.
    /// </summary>
    public Effect[] Refused(ProtocolError refusal) =>
        AsksCurrentPrice(refusal) && PriceNotice() is { } notice
            ? [Effect.Push(notice), Effect.Reply(Refusal.From(refusal))]
            : [Effect.Reply(Refusal.From(refusal))];

    /// <summary>
    /// One turn of the gantry's periodic work, and its next turn: a sweep resolves each open pass past
    /// <paramref name="answerTimeout"/> and not being paid by one violation (a <see cref="EffectKind.Then"/> step
    /// the shell writes, see <see cref="DecideLate"/>); a filing gives the operator's toll office the violations it
    /// has not acknowledged, at most <see cref="MaxFiledAtOnce"/>; the zone is asked for its traffic when the
    /// tariff prices congestion (see <see cref="ZoneToAsk"/>).
    /// </summary>
    public Effect[] Tick(GantryTick tick, TimeSpan answerTimeout, Timestamp now) => tick switch
    {
        GantryTick.Sweep => Sweep((long)answerTimeout.TotalMilliseconds, now),
        GantryTick.File => Filing(),
        GantryTick.Zone => ZoneToAsk() is { } ask ? [Effect.Tell(Peer.Zones, ask), .. ZoneAgain] : ZoneAgain,
        _ => throw new ArgumentOutOfRangeException(nameof(tick), tick, "no such periodic work"),
    };

    /// <summary>
    /// The request notice of the pass whose vehicle's connection was looked up under <paramref name="key"/> (the
    /// pass's id), while the pass is open; none once it resolved, or for a key that names no pass of this book.
    /// </summary>
    public DeviceEvent? AwaitedNotice(string key) =>
        PassId.Parse(key) is { IsOk: true } id && FindOpen(id.Value) is { } pass ? RequestNotice(pass) : null;

    private Effect[] Sweep(long answerTimeoutMs, Timestamp now)
    {
        var late = DecideLate(answerTimeoutMs, now);
        if (late.Count == 0) return SweepAgain;
        var effects = new Effect[late.Count + 1];
        for (var i = 0; i < late.Count; i++) effects[i] = Effect.Then(late[i]);
        effects[^1] = SweepAgain[0];
        return effects;
    }

    private Effect[] Filing()
    {
        var filings = ToFile(MaxFiledAtOnce);
        if (filings.Count == 0) return FileAgain;
        var effects = new Effect[filings.Count + 1];
        for (var i = 0; i < filings.Count; i++) effects[i] = Effect.Tell(Peer.TollOffices, filings[i]);
        effects[^1] = FileAgain[0];
        return effects;
    }
}
