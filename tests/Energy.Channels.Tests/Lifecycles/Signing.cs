using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>Signed objects on the wire, as the lifecycles' callers pass them.</summary>
public static class Signing
{
    /// <summary>A voucher adding <paramref name="increment"/> to the channel's accepted cumulative, for <paramref name="purpose"/>.</summary>
    public static byte[] Voucher(ChannelId channel, ulong sequence, long cumulative, long increment, DeviceKeyPair payerKey, PaymentPurpose purpose = default) =>
        Signed<Voucher>.Sign(new Voucher(TestParties.Network, channel, sequence, new Money(cumulative, Currency.Eur), new Money(increment, Currency.Eur), purpose),
            payerKey).ToArray();
}
