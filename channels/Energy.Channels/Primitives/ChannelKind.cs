namespace Energy.Channels.Primitives;

/// <summary>
/// Which protocol a channel follows. The kinds are separate worlds: a streaming and a duplex channel of
/// the same id hold separate escrows, and a close request names the kind it was signed for.
/// </summary>
public enum ChannelKind : byte
{
    Streaming = 1,
    Duplex = 2,
}
