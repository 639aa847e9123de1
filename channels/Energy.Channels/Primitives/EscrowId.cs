using System.Security.Cryptography;

namespace Energy.Channels.Primitives;

/// <summary>SHA-256 of a channel opening's signed bytes (its canonical body), in lowercase hex.</summary>
public readonly record struct OpeningHash(string Hex)
{
    public const int HexLength = 64;

    public static OpeningHash Of(ReadOnlySpan<byte> signedBody) => new(Convert.ToHexStringLower(SHA256.HashData(signedBody)));

    public static Result<OpeningHash> Parse(string? value) =>
        value is { Length: HexLength } && value.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f')
            ? new OpeningHash(value)
            : new MalformedValue("opening hash", value ?? "(null)", $"{HexLength} lowercase hex digits");

    public override string ToString() => Hex;
}

/// <summary>
/// One escrow on the ledger: the channel's kind, its id and the hash of the opening that locked it. An
/// escrow is locked once and released once; a new opening, even of the same channel id, is a new
/// escrow that must be funded anew, so no release can be replayed and no deposit counted twice.
/// </summary>
public readonly record struct EscrowId(ChannelKind Kind, ChannelId Channel, OpeningHash Opening)
{
    /// <summary>The separator of the text form; channel ids cannot hold it, so the form parses one way only.</summary>
    private const char Separator = '/';

    public static Result<EscrowId> Parse(string? value)
    {
        var parts = (value ?? "").Split(Separator);
        var malformed = new MalformedValue("escrow id", value ?? "(null)", "streaming|duplex/<channel id>/<opening hash>");
        if (parts.Length != 3) return malformed;
        ChannelKind? kind = parts[0] switch { "streaming" => ChannelKind.Streaming, "duplex" => ChannelKind.Duplex, _ => null };
        if (kind is null) return malformed;
        var channel = ChannelId.Parse(parts[1]);
        if (!channel.IsOk) return channel.Error;
        var opening = OpeningHash.Parse(parts[2]);
        if (!opening.IsOk) return opening.Error;
        return new EscrowId(kind.Value, channel.Value, opening.Value);
    }

    public override string ToString() => $"{(Kind == ChannelKind.Streaming ? "streaming" : "duplex")}{Separator}{Channel}{Separator}{Opening}";
}
