using System.Globalization;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Streaming;

/// <summary>What a purpose names. Stable byte values: they are signed inside every voucher.</summary>
public enum PurposeKind : byte
{
    /// <summary>A payment on the channel that pays for nothing in particular (a top-up, a tip, a test).</summary>
    None = 0,

    /// <summary>A charging session, by its id.</summary>
    Session = 1,

    /// <summary>A toll pass: the gantry that recorded it and the pass's number at that gantry.</summary>
    TollPass = 2,

    /// <summary>One interval of a grid zone's energy market: the zone, and the interval's start in Unix ms.</summary>
    MarketInterval = 3,
}

/// <summary>
/// What a voucher pays for. It is inside the signature, so the payer says which session or which toll
/// pass each increment is for, and the network counts every increment for the one purpose it names:
/// the same money never pays two sessions, or a pass and a session, on one channel. A pass is named by
/// its gantry and number (its id is <c>{gantry}.{number}</c>, which may be longer than one identifier);
/// a market interval by its zone and its start, so a payment for one interval never counts for another.
/// </summary>
public readonly record struct PaymentPurpose
{
    private PaymentPurpose(PurposeKind kind, string reference, ulong number)
    {
        Kind = kind;
        _reference = reference;
        _number = number;
    }

    private readonly string? _reference;

    // A toll pass's number, or a market interval's start in Unix ms (never negative); 0 otherwise.
    private readonly ulong _number;

    /// <summary>Pays for nothing in particular; the default value.</summary>
    public static PaymentPurpose None => default;

    public PurposeKind Kind { get; }

    /// <summary>The session id, the gantry of a toll pass or the zone of a market interval; empty for <see cref="PurposeKind.None"/>.</summary>
    public string Reference => _reference ?? "";

    /// <summary>The pass's number at its gantry (1 and up) for a toll pass; 0 otherwise.</summary>
    public ulong PassNumber => Kind == PurposeKind.TollPass ? _number : 0;

    /// <summary>The interval's start (Unix ms) for a market interval; 0 otherwise.</summary>
    public long IntervalStartMs => Kind == PurposeKind.MarketInterval ? (long)_number : 0;

    public bool IsNone => Kind == PurposeKind.None;

    public static Result<PaymentPurpose> ForSession(string? session)
    {
        if (!IdentifierRules.IsValid(session)) return new MalformedValue("session id", session ?? "(null)", $"1 to {IdentifierRules.MaxLength} characters of [a-z0-9._:-]");
        return new PaymentPurpose(PurposeKind.Session, session!, 0);
    }

    public static PaymentPurpose ForTollPass(DeviceId gantry, ulong number)
    {
        if (number == 0) throw new ArgumentOutOfRangeException(nameof(number), "pass numbers start at 1");
        return new PaymentPurpose(PurposeKind.TollPass, gantry.Value, number);
    }

    /// <summary>A toll pass from its id <c>{gantry}.{number}</c>, as the gantry names its passes.</summary>
    public static Result<PaymentPurpose> ForTollPass(string? pass)
    {
        var dot = pass?.LastIndexOf('.') ?? -1;
        if (dot <= 0
            || !ulong.TryParse(pass.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number == 0
            || !DeviceId.Parse(pass![..dot]).IsOk)
            return new MalformedValue("pass id", pass ?? "(null)", "<gantry>.<number>, the number from 1");
        return new PaymentPurpose(PurposeKind.TollPass, pass[..dot], number);
    }

    /// <summary>One interval of a zone's market, by the zone's id and the interval's start in Unix ms (0 and up).</summary>
    public static Result<PaymentPurpose> ForMarketInterval(string? zone, long startMs)
    {
        if (!IdentifierRules.IsValid(zone)) return new MalformedValue("zone id", zone ?? "(null)", $"1 to {IdentifierRules.MaxLength} characters of [a-z0-9._:-]");
        if (startMs < 0) return new MalformedValue("interval start", startMs.ToString(CultureInfo.InvariantCulture), "0 and up (Unix ms)");
        return new PaymentPurpose(PurposeKind.MarketInterval, zone!, (ulong)startMs);
    }

    /// <summary>A market interval from its text <c>{zone}.{start}</c>, the start in Unix ms.</summary>
    public static Result<PaymentPurpose> ForMarketInterval(string? interval)
    {
        var dot = interval?.LastIndexOf('.') ?? -1;
        if (dot <= 0 || !long.TryParse(interval.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || ForMarketInterval(interval![..dot], start) is not { IsOk: true } purpose)
            return new MalformedValue("market interval", interval ?? "(null)", "<zone>.<start in Unix ms>");
        return purpose;
    }

    /// <summary>The text form: <c>none</c>, <c>session:{id}</c>, <c>pass:{gantry}.{number}</c> or <c>market:{zone}.{start}</c>.</summary>
    public static Result<PaymentPurpose> Parse(string? text)
    {
        if (text == "none") return None;
        if (text is not null && text.StartsWith("session:", StringComparison.Ordinal)) return ForSession(text["session:".Length..]);
        if (text is not null && text.StartsWith("pass:", StringComparison.Ordinal)) return ForTollPass(text["pass:".Length..]);
        if (text is not null && text.StartsWith("market:", StringComparison.Ordinal)) return ForMarketInterval(text["market:".Length..]);
        return new MalformedValue("payment purpose", text ?? "(null)", "none, session:<id>, pass:<gantry>.<number> or market:<zone>.<start>");
    }

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteByte((byte)Kind);
        if (Kind == PurposeKind.None) return;
        writer.WriteIdentifier(Reference);
        if (Kind == PurposeKind.TollPass) writer.WriteUInt64(PassNumber);
        if (Kind == PurposeKind.MarketInterval) writer.WriteInt64(IntervalStartMs);
    }

    public static PaymentPurpose Read(ref CanonicalReader reader)
    {
        var kind = reader.ReadByte();
        if (reader.Failed) return None;
        switch ((PurposeKind)kind)
        {
            case PurposeKind.None:
                return None;
            case PurposeKind.Session:
                var session = reader.ReadIdentifier("purpose");
                return reader.Failed ? None : new PaymentPurpose(PurposeKind.Session, session, 0);
            case PurposeKind.TollPass:
                var gantry = reader.ReadIdentifier("purpose");
                var number = reader.ReadUInt64();
                if (!reader.Failed && number == 0) reader.Fail(new NonCanonicalEncoding(reader.Kind, "purpose", "a toll pass number is 0; passes count from 1"));
                return reader.Failed ? None : new PaymentPurpose(PurposeKind.TollPass, gantry, number);
            case PurposeKind.MarketInterval:
                var zone = reader.ReadIdentifier("purpose");
                var start = reader.ReadInt64();
                if (!reader.Failed && start < 0) reader.Fail(new NonCanonicalEncoding(reader.Kind, "purpose", "a market interval starts before the Unix epoch"));
                return reader.Failed ? None : new PaymentPurpose(PurposeKind.MarketInterval, zone, (ulong)start);
            default:
                reader.Fail(new NonCanonicalEncoding(reader.Kind, "purpose", $"purpose kind byte 0x{kind:x2} is none of none, session, toll pass, market interval"));
                return None;
        }
    }

    public override string ToString() => Kind switch
    {
        PurposeKind.Session => "session:" + Reference,
        PurposeKind.TollPass => "pass:" + Reference + "." + PassNumber.ToString(CultureInfo.InvariantCulture),
        PurposeKind.MarketInterval => "market:" + Reference + "." + IntervalStartMs.ToString(CultureInfo.InvariantCulture),
        _ => "none",
    };
}
