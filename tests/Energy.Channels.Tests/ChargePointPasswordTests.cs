using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>
/// A charger's password object: a chosen password is hashed with PBKDF2's minimum iterations or more; a generated key
/// with one, and such an object matches nothing but a generated key's shape. Any other iteration count is refused on the wire.
/// </summary>
public sealed class ChargePointPasswordTests
{
    private static readonly DeviceId Charger = DeviceId.Of("charger-1");

    private static ChargePointPassword WithIterations(string password, uint iterations)
    {
        var salt = new byte[ChargePointPassword.SaltBytes];
        return new ChargePointPassword(Network, OperatorName, Charger, salt, ChargePointPassword.HashOf(password, salt, iterations), iterations, false, 1, Now);
    }

    [Fact]
    public void A_generated_key_is_forty_lowercase_hex_characters_and_matches_its_own_object_only()
    {
        var key = ChargePointPassword.GenerateKey();
        Assert.True(ChargePointPassword.IsGeneratedKeyShape(key));
        var password = ChargePointPassword.For(Network, OperatorName, Charger, key, false, 1, Now, ChargePointPassword.KeyIterations);
        Assert.True(password.IsGeneratedKey);
        Assert.True(password.Matches(key));
        Assert.False(password.Matches(ChargePointPassword.GenerateKey()));
        Assert.NotEqual(key, ChargePointPassword.GenerateKey());
    }

    [Theory]
    [InlineData("a password long enough for OCPP")]
    [InlineData("0123456789abcdef0123456789abcdef0123456")]
    [InlineData("0123456789abcdef0123456789abcdef01234567a")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF01234567")]
    [InlineData("0123456789abcdef0123456789abcdef0123456g")]
    public void A_one_iteration_object_never_matches_a_chosen_password_even_when_its_hash_is_of_that_password(string chosen)
    {
        Assert.False(ChargePointPassword.IsGeneratedKeyShape(chosen));
        Assert.False(WithIterations(chosen, ChargePointPassword.KeyIterations).Matches(chosen));
        Assert.Throws<ArgumentException>(() =>
            ChargePointPassword.For(Network, OperatorName, Charger, chosen, false, 1, Now, ChargePointPassword.KeyIterations));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(2u)]
    [InlineData(ChargePointPassword.MinIterations - 1)]
    [InlineData(ChargePointPassword.MaxIterations + 1)]
    public void An_object_with_any_other_iteration_count_is_refused_on_the_wire_and_cannot_be_made(uint iterations)
    {
        var unhashed = new ChargePointPassword(Network, OperatorName, Charger, new byte[ChargePointPassword.SaltBytes],
            new byte[ChargePointPassword.HashBytes], iterations, false, 1, Now);
        var wire = Signed<ChargePointPassword>.Sign(unhashed, Keys.Operator).ToArray();
        var refused = Signed<ChargePointPassword>.Decode(wire);
        Assert.False(refused.IsOk);
        var error = Assert.IsType<NonCanonicalEncoding>(refused.Error);
        Assert.Contains(iterations.ToString(), error.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            ChargePointPassword.For(Network, OperatorName, Charger, "a password long enough for OCPP", false, 1, Now, iterations));
    }

    [Theory]
    [InlineData(ChargePointPassword.KeyIterations)]
    [InlineData(ChargePointPassword.MinIterations)]
    public void Both_kinds_of_object_read_back_as_they_were_signed(uint iterations)
    {
        var password = iterations == ChargePointPassword.KeyIterations ? ChargePointPassword.GenerateKey() : "a password long enough for OCPP";
        var signed = Signed<ChargePointPassword>.Sign(
            ChargePointPassword.For(Network, OperatorName, Charger, password, false, 3, Now, iterations), Keys.Operator);
        var read = Signed<ChargePointPassword>.Decode(signed.ToArray()).Value.Payload;
        Assert.Equal(signed.Payload, read);
        Assert.True(read.Matches(password));
    }
}
