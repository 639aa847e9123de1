using Energy.Channels.Encoding;
using Energy.Channels.Streaming;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Properties;

/// <summary>Whatever bytes arrive, every decoder answers with a value or a named error; none throws.</summary>
public class HostileInputProperties
{
    private static readonly Gen<byte[]> Garbage = Gen.Frequency(
        (3, Gen.Choose(0, 300).SelectMany(Gens.Bytes)),
        (1, Gen.Choose(1_100, 1_300).SelectMany(Gens.Bytes)),
        // Plausible starts: the magic, a defined tag and the version, then anything.
        (4, from tag in Gen.Choose(0, 16) from version in Gen.Elements(1, 1, 1, 0, 2) from rest in Gen.Choose(0, 200).SelectMany(Gens.Bytes)
            select (byte[])[(byte)'E', (byte)'N', (byte)tag, (byte)version, .. rest]));

    [Property(MaxTest = 300)]
    public Property Random_bytes_never_make_a_decoder_throw() =>
        Prop.ForAll(Garbage.ToArbitrary(), bytes =>
        {
            foreach (var sample in Samples.All)
            {
                var result = sample.Decode(bytes);
                if (!result.IsOk) Assert.IsAssignableFrom<ProtocolError>(result.Error);
            }
        });

    public sealed record Mutation(int Kind, int Position, int Length, byte[] Bytes);

    private static readonly Gen<Mutation> Mutations =
        from kind in Gen.Choose(0, 3) from position in Gen.Choose(0, 500) from length in Gen.Choose(1, 40) from bytes in Gen.Choose(1, 40).SelectMany(Gens.Bytes)
        select new Mutation(kind, position, length, bytes);

    private static byte[] Apply(byte[] wire, Mutation mutation)
    {
        var at = mutation.Position % (wire.Length + 1);
        return mutation.Kind switch
        {
            0 => [.. wire[..at], .. mutation.Bytes, .. wire[at..]],                                     // insert
            1 => [.. wire[..at], .. wire[Math.Min(wire.Length, at + mutation.Length)..]],                // delete
            2 => [.. wire[..at], .. mutation.Bytes.Take(wire.Length - at), .. wire[Math.Min(wire.Length, at + mutation.Bytes.Length)..]], // overwrite
            _ => [.. wire[..at]],                                                                         // cut
        };
    }

    /// <summary>Valid objects of every kind, cut, spliced and overwritten: a named error, or an object that no longer verifies.</summary>
    [Property(MaxTest = 300)]
    public Property Mutated_wire_forms_are_refused_or_fail_to_verify() =>
        Prop.ForAll(Gens.AnySigned.ToArbitrary(), Mutations.ToArbitrary(), (sample, mutation) =>
        {
            var mutated = Apply(sample.Wire, mutation);
            if (mutated.AsSpan().SequenceEqual(sample.Wire)) return;
            var result = sample.Decode(mutated);
            Assert.False(result.IsOk && sample.VerifiesBySigners(mutated), $"{sample.Name} mutated by {mutation.Kind} at {mutation.Position} still verifies");
        });

    /// <summary>A voucher with random bytes in its signature never makes the channel throw either: the channel refuses it by name.</summary>
    [Property(MaxTest = 200)]
    public Property Vouchers_with_random_signature_bytes_are_refused_by_name() =>
        Prop.ForAll(Gens.Bytes(8).ToArbitrary(), Gens.AnyLong.ToArbitrary(), (signature, amount) =>
        {
            var voucher = TestParties.Voucher(1, amount);
            var wire = voucher.ToArray();
            signature.CopyTo(wire, voucher.BodyLength + 10);
            var decoded = Signed<Voucher>.Decode(wire).Value;
            var result = StreamingChannels.AcceptVoucher(TestParties.OpenStreaming(), decoded, TestParties.Now);
            Assert.False(result.IsOk);
            Assert.IsAssignableFrom<ProtocolError>(result.Error);
        });
}
