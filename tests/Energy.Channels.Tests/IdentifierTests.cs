using Energy.Channels.Primitives;

namespace Energy.Channels.Tests;

/// <summary>Every identifier has one spelling: 1 to 64 characters of [a-z0-9._:-].</summary>
public class IdentifierTests
{
    public static TheoryData<string> Valid => new()
    {
        "a",
        "vehicle-1",
        "a.b_c:d-e",
        "0123456789",
        new string('z', 64),
        "abcdefghijklmnopqrstuvwxyz0123456789._:-",
    };

    public static TheoryData<string> Invalid => new()
    {
        "",
        new string('a', 65),
        "Vehicle-1",
        "VEHICLE",
        "with space",
        "tab\there",
        "ü",
        "a/b",
        "a\\b",
        "semi;colon",
        "quote'",
        "nul\0",
        "percent%20",
        "vehicle-1\n",
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void A_valid_identifier_parses_as_every_identifier_type(string value)
    {
        Assert.True(IdentifierRules.IsValid(value));
        Assert.Equal(value, NetworkId.Parse(value).Value.Value);
        Assert.Equal(value, OperatorId.Parse(value).Value.Value);
        Assert.Equal(value, DeviceId.Parse(value).Value.Value);
        Assert.Equal(value, ChannelId.Parse(value).Value.Value);
        Assert.Equal(value, SegmentId.Parse(value).Value.Value);
        Assert.Equal("operator:" + value, PartyId.Parse("operator:" + value).Value.Value);
        Assert.Equal("device:" + value, PartyId.Parse("device:" + value).Value.Value);
        Assert.Equal(PartyKind.Operator, PartyId.Parse("operator:" + value).Value.Kind);
        Assert.Equal(value, PartyId.Parse("device:" + value).Value.Name);
    }

    [Theory]
    [InlineData("cpo-1")]
    [InlineData("vehicle:1")]
    [InlineData("operators:cpo-1")]
    [InlineData("device:")]
    public void A_party_id_without_its_kind_is_refused(string value) => Assert.False(PartyId.Parse(value).IsOk);

    [Fact]
    public void An_operator_and_a_device_of_the_same_name_are_different_parties()
    {
        Assert.NotEqual(PartyId.From(OperatorId.Of("acme")), PartyId.From(DeviceId.Of("acme")));
        Assert.NotEqual(PartyId.From(OperatorId.Of("acme")).Value, PartyId.From(DeviceId.Of("acme")).Value);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_identifier_is_refused_with_MalformedValue_by_every_identifier_type(string value)
    {
        Assert.False(IdentifierRules.IsValid(value));
        AssertMalformed(NetworkId.Parse(value).Error, "network id", value);
        AssertMalformed(OperatorId.Parse(value).Error, "operator id", value);
        AssertMalformed(DeviceId.Parse(value).Error, "device id", value);
        AssertMalformed(ChannelId.Parse(value).Error, "channel id", value);
        AssertMalformed(SegmentId.Parse(value).Error, "segment id", value);
        AssertMalformed(PartyId.Parse("device:" + value).Error, "device id", value);
        AssertMalformed(PartyId.Parse("operator:" + value).Error, "operator id", value);
    }

    [Fact]
    public void A_missing_identifier_is_refused_with_MalformedValue()
    {
        AssertMalformed(DeviceId.Parse(null).Error, "device id", "(null)");
        Assert.False(IdentifierRules.IsValid(null));
    }

    [Fact]
    public void The_length_bound_is_64_characters_inclusive()
    {
        Assert.Equal(64, IdentifierRules.MaxLength);
        Assert.True(ChannelId.Parse(new string('a', 64)).IsOk);
        Assert.IsType<MalformedValue>(ChannelId.Parse(new string('a', 65)).Error);
    }

    [Fact]
    public void Of_throws_with_the_named_error_where_Parse_refuses()
    {
        var exception = Assert.Throws<ProtocolException>(() => DeviceId.Of("Upper"));
        Assert.Equal("Upper", Assert.IsType<MalformedValue>(exception.Error).Value);
    }

    [Fact]
    public void A_party_id_made_from_a_device_or_operator_keeps_its_spelling()
    {
        Assert.Equal("device:meter-1", PartyId.From(DeviceId.Of("meter-1")).Value);
        Assert.Equal("operator:cpo-1", PartyId.From(OperatorId.Of("cpo-1")).Value);
    }

    [Theory]
    [InlineData("gantry-1.17", "gantry-1", 17UL)]
    [InlineData("gantry-1.north.3", "gantry-1.north", 3UL)]
    public void A_pass_id_is_its_gantry_and_number_and_reads_back_as_written(string text, string gantry, ulong number)
    {
        var pass = PassId.Parse(text).Unwrap();
        Assert.Equal((DeviceId.Of(gantry), number, text), (pass.Gantry, pass.Number, pass.Value));
        Assert.Equal(pass, PassId.Of(pass.Value));
        Assert.Equal(Streaming.PaymentPurpose.ForTollPass(text).Unwrap(), pass.Purpose);
    }

    [Theory]
    [InlineData("gantry-1")]
    [InlineData("gantry-1.0")]
    [InlineData(".5")]
    [InlineData("Gantry.5")]
    [InlineData("gantry-1.-5")]
    [InlineData("gantry-1.5x")]
    [InlineData("")]
    public void A_pass_id_that_is_not_a_gantry_and_a_number_from_one_is_refused_by_name(string text) =>
        AssertMalformed(PassId.Parse(text).Error, "pass id", text);

    [Fact]
    public void A_session_id_is_an_identifier_and_names_its_purpose()
    {
        var session = SessionId.Of("charger-1.7");
        Assert.Equal(Streaming.PaymentPurpose.ForSession("charger-1.7").Unwrap(), session.Purpose);
        AssertMalformed(SessionId.Parse("Charger 1").Error, "session id", "Charger 1");
        Assert.True(new SessionId("Charger 1").Purpose.IsNone);
        Assert.Equal(("cp-1", 42), SessionId.OfTransaction("cp-1", 42).Transaction);
        Assert.Null(SessionId.Of("cp-1.42").Transaction);
    }

    private static void AssertMalformed(ProtocolError? error, string field, string value)
    {
        var malformed = Assert.IsType<MalformedValue>(error);
        Assert.Equal((field, value), (malformed.Field, malformed.Value));
    }
}
