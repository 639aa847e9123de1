using Energy.Channels.Primitives;

namespace Energy.Cluster;

/// <summary>The wall clock, passed into actors so that tests can move time. The protocol never reads it.</summary>
public interface IClock
{
    Timestamp Now { get; }
}

public sealed class SystemClock : IClock
{
    public static readonly SystemClock Instance = new();
    public Timestamp Now => Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
}
