using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using FsCheck.Xunit;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>Properties over random inputs: conservation, monotonicity, round trips and signature binding.</summary>
public sealed class ProtocolProperties : IDisposable
{
    private readonly TestParties _p = new();

    public void Dispose() => _p.Dispose();

    /// <summary>
    /// Random vouchers (many of them invalid), closes by either party and finalizations at random
    /// times: the amount paid never decreases and never leaves 0..deposit, and a settlement always
    /// splits exactly the deposit.
    /// </summary>
    [Property(MaxTest = 60)]
    public bool Streaming_channels_conserve_value_and_only_move_forward(int[] steps, ushort depositSeed)
    {
        var deposit = 1 + depositSeed;
        var channel = _p.OpenStreaming(deposit);
        var time = 0L;
        foreach (var step in steps.Take(25))
        {
            var before = channel;
            time += Math.Abs(step % 40_000);
            var now = At(time);
            var next = (Math.Abs(step) % 10) switch
            {
                0 => StreamingChannels.RequestClose(channel, _p.Close(PayerId, _p.PayerKey), now),
                1 => StreamingChannels.RequestClose(channel, _p.Close(PayeeId, _p.PayeeKey), now),
                2 => StreamingChannels.FinalizeClose(channel, now),
                _ => StreamingChannels.AcceptVoucher(channel, _p.Voucher(
                        (ulong)Math.Max(0, (long)channel.LastSequence + (step % 3) - 1 + 1),
                        channel.Paid.MinorUnits + (step % (deposit / 4 + 2)), signer: step % 17 == 0 ? _p.StrangerKey : null), now)
                    .Then<StreamingChannel>(accepted => accepted.Channel),
            };
            if (next.IsOk) channel = next.Value;
            if (channel.Paid < before.Paid || channel.LastSequence < before.LastSequence) return false;
            if (channel.Paid.MinorUnits < 0 || channel.Paid.MinorUnits > deposit) return false;
            if (channel.Settlement is { } s && (s.PayoutA.MinorUnits + s.PayoutB.MinorUnits != deposit || s.PayoutA.IsNegative || s.PayoutB.IsNegative)) return false;
        }
        return true;
    }

    /// <summary>Random co-signed states (some unbalanced, stale or final) and closes: balances always sum to the deposits.</summary>
    [Property(MaxTest = 40)]
    public bool Duplex_channels_conserve_value_and_versions_only_go_up(int[] steps, ushort depositA, ushort depositB)
    {
        var total = (long)depositA + depositB + 1;
        var channel = _p.OpenDuplex(depositA + 1, depositB);
        var time = 0L;
        foreach (var step in steps.Take(15))
        {
            var version = channel.Version;
            time += Math.Abs(step % 40_000);
            var now = At(time);
            var balanceA = Math.Abs((long)step * 7919) % (total + 2) - (step % 5 == 0 ? 1 : 0);
            var balanceB = total - balanceA + (step % 7 == 0 ? 1 : 0);
            var offered = (ulong)Math.Max(0, (long)version + (step % 3));
            var next = (Math.Abs(step) % 6) switch
            {
                0 => DuplexChannels.RequestClose(channel, _p.Close(PayerId, _p.PayerKey), now),
                1 => DuplexChannels.FinalizeClose(channel, now),
                2 => DuplexChannels.CloseCooperatively(channel, _p.State(offered, balanceA, balanceB, isFinal: true), now),
                _ => DuplexChannels.Update(channel, _p.State(offered, balanceA, balanceB), now),
            };
            if (next.IsOk) channel = next.Value;
            if (channel.Version < version) return false;
            if (channel.BalanceA.MinorUnits + channel.BalanceB.MinorUnits != total) return false;
            if (channel.BalanceA.IsNegative || channel.BalanceB.IsNegative) return false;
            if (channel.Settlement is { } s && s.PayoutA.MinorUnits + s.PayoutB.MinorUnits != total) return false;
        }
        return true;
    }

    [Property(MaxTest = 200)]
    public bool Vouchers_round_trip_through_the_encoding(ulong sequence, long amount, byte channelSeed)
    {
        var channel = ChannelId.Of($"ch-{channelSeed}");
        var voucher = Signed<Voucher>.Sign(new Voucher(Network, channel, sequence, Eur(amount)), _p.PayerKey);
        var decoded = Signed<Voucher>.Decode(voucher.Wire).Value;
        return decoded.Payload == voucher.Payload && decoded.Wire.SequenceEqual(voucher.Wire)
            && Signed<Voucher>.EncodeBody(decoded.Payload).AsSpan().SequenceEqual(voucher.Body);
    }

    [Property(MaxTest = 100)]
    public bool Meter_readings_and_duplex_states_round_trip(ulong sequence, long register, long balance, bool isFinal)
    {
        var reading = Signed<Energy.Channels.Metering.MeterReading>.Sign(
            new Energy.Channels.Metering.MeterReading(Network, DeviceId.Of("meter-1"), sequence, new Timestamp(register), new EnergyWh(register)), _p.PayerKey);
        var state = _p.State(sequence, balance, -balance, isFinal);
        return Signed<Energy.Channels.Metering.MeterReading>.Decode(reading.Wire).Value.Equals(reading)
            && Signed<DuplexState>.Decode(state.Wire).Value.Equals(state);
    }

    /// <summary>Flip any bit of any byte of a signed voucher: it fails to decode, or it no longer verifies.</summary>
    [Property(MaxTest = 300)]
    public bool Flipping_any_byte_breaks_the_signature(ushort position, byte mask)
    {
        var voucher = _p.Voucher(5, 500);
        var wire = voucher.ToArray();
        wire[position % wire.Length] ^= (byte)(mask == 0 ? 1 : mask);
        var decoded = Signed<Voucher>.Decode(wire);
        return !decoded.IsOk || !decoded.Value.IsSignedBy(_p.PayerKey.PublicKey);
    }

    /// <summary>A signature never carries over to another channel, another network, or another kind with the same layout.</summary>
    [Property(MaxTest = 100)]
    public bool A_signature_is_bound_to_its_channel_network_and_kind(byte seed, long time)
    {
        var voucher = _p.Voucher(1, 100);
        var signature = voucher.SignatureAt(0).ToArray();
        var otherChannel = Signed<Voucher>.EncodeBody(voucher.Payload with { ChannelId = ChannelId.Of($"ch-other-{seed}") });
        var otherNetwork = Signed<Voucher>.EncodeBody(voucher.Payload with { Network = NetworkId.Of($"net-{seed}") });

        // A close request and a revocation have the same field layout; only the kind tag tells them apart.
        var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelId.Of($"x-{seed}"), PartyId.Of("y"), new Timestamp(time)), _p.PayerKey);
        var revocationBody = Signed<Revocation>.EncodeBody(new Revocation(Network, OperatorId.Of($"x-{seed}"), DeviceId.Of("y"), new Timestamp(time)));
        var sameLayout = revocationBody.AsSpan(4).SequenceEqual(close.Body[4..]);

        return sameLayout
            && !_p.PayerKey.PublicKey.Verifies(otherChannel, signature)
            && !_p.PayerKey.PublicKey.Verifies(otherNetwork, signature)
            && !_p.PayerKey.PublicKey.Verifies(revocationBody, close.SignatureAt(0));
    }
}
