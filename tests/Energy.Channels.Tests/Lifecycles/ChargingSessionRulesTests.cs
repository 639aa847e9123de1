using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Charging;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>The rules a charging session's shell asks its core about: its parties, the channel it binds, and what it tells.</summary>
public sealed class ChargingSessionRulesTests
{
    private static readonly SessionId Session = SessionId.Of("session-r");
    private static readonly OperatorId Cpo = OperatorId.Of("cpo-r");
    private static readonly DeviceId Charger = DeviceId.Of("charger-r");
    private static readonly DeviceId Vehicle = DeviceId.Of("vehicle-r");
    private static readonly ChannelId Channel = ChannelId.Of("channel-r");
    private static readonly DeviceKeyPair MeterKey = DeviceKeyPair.Generate();
    private static readonly Timestamp Now = new(1_800_000_000_000);

    private static DeviceView View(DeviceId device, DeviceRole role, bool revoked = false) =>
        new(device, Cpo, role, MeterKey.PublicKey.Hex, revoked, Now, revoked ? Now : null);

    private static Result<DeviceView> Check(object? charger, object? vehicle, params DeviceId[] revokedHere) =>
        ChargingSession.CheckParties(Charger, charger, Vehicle, vehicle, revokedHere.Contains, Now);

    [Fact]
    public void A_session_takes_a_registered_charger_or_meter_and_a_registered_vehicle()
    {
        Assert.Equal(Charger, Check(View(Charger, DeviceRole.Charger), View(Vehicle, DeviceRole.Vehicle)).Value.Device);
        Assert.Equal(Charger, Check(View(Charger, DeviceRole.Meter), View(Vehicle, DeviceRole.Vehicle)).Value.Device);
    }

    [Fact]
    public void Parties_not_registered_revoked_or_in_another_role_are_refused_by_name_the_charger_first()
    {
        var refusal = Refusal.From(new DeviceNotFound(Charger));
        Assert.Equal(new DeviceNotFound(Charger), Check(null, null).Error);
        Assert.Equal(new DeviceNotFound(Charger), Check(refusal, View(Vehicle, DeviceRole.Vehicle)).Error);
        Assert.Equal(new DeviceNotFound(Vehicle), Check(View(Charger, DeviceRole.Charger), refusal).Error);
        Assert.IsType<DeviceIsRevoked>(Check(View(Charger, DeviceRole.Charger, revoked: true), View(Vehicle, DeviceRole.Vehicle)).Error);
        // A revocation this node already knows counts even when the twin's answer predates it.
        Assert.Equal(new DeviceIsRevoked(Vehicle, Now), Check(View(Charger, DeviceRole.Charger), View(Vehicle, DeviceRole.Vehicle), Vehicle).Error);
        Assert.IsType<DeviceRoleRefused>(Check(View(Charger, DeviceRole.Vehicle), View(Vehicle, DeviceRole.Vehicle)).Error);
        Assert.Equal(new DeviceRoleRefused(Vehicle, "Charger", "Vehicle"), Check(View(Charger, DeviceRole.Charger), View(Vehicle, DeviceRole.Charger)).Error);
    }

    [Fact]
    public void A_channel_that_did_not_answer_or_is_not_open_is_not_bound()
    {
        var state = Started();
        var notAnswered = Assert.IsType<ChannelNotUsable>(ChargingSession.DecideBind(state, Session, Channel, null).Error);
        Assert.Equal("did not answer", notAnswered.Reason);
        foreach (var phase in new[] { ChannelPhase.None, ChannelPhase.Opening, ChannelPhase.Closing, ChannelPhase.Closed, ChannelPhase.Settled })
            Assert.Equal($"is {phase.ToWire()}, not open", Assert.IsType<ChannelNotUsable>(ChargingSession.DecideBind(state, Session, Channel, ChannelOf(phase)).Error).Reason);
        Assert.Equal(Channel, ChargingSession.DecideBind(state, Session, Channel, ChannelOf(ChannelPhase.Open)).Value.Channel);
    }

    [Fact]
    public void The_offer_progress_and_view_say_where_the_session_stands()
    {
        var state = Started();
        var offer = ChargingSession.Offer(state, Session);
        Assert.Equal((Session, Charger, 40L, 100L, Currency.Eur), (offer.Session, offer.Charger, offer.PricePerKwh, offer.Credit, offer.Currency));
        Assert.Equal(state.Started!.StartReading, offer.StartReading);
        Assert.Equal(SessionStatus.AwaitingVehicle, ChargingSession.Progress(state, Session).Status);
        var view = ChargingSession.View(state, Session);
        Assert.Equal((Session, SessionStatus.AwaitingVehicle, Charger, Vehicle, (ChannelId?)null), (view.Session, view.Status, view.Charger, view.Vehicle, view.Channel));
        Assert.True(state.AwaitsVehicle);
        Assert.False(state.ReadyToComplete);
        var bound = ChargingSession.Evolve(state, ChargingSession.DecideBind(state, Session, Channel, ChannelOf(ChannelPhase.Open)).Value);
        Assert.False(bound.AwaitsVehicle);
        Assert.Equal(SessionStatus.Charging, ChargingSession.View(bound, Session).Status);
    }

    [Theory]
    [InlineData("s1", true)]
    [InlineData("ocpp:cp-1:17", true)]
    [InlineData("", false)]
    [InlineData("Upper", false)]
    [InlineData("with space", false)]
    public void A_session_id_is_1_to_64_of_lower_case_letters_digits_and_dot_underscore_colon_dash(string id, bool valid)
    {
        Assert.Equal(valid, SessionId.IsValid(id));
        Assert.False(SessionId.IsValid(new string('a', 65)));
        Assert.True(SessionId.IsValid(new string('a', 64)));
    }

    private static ChargingSessionState Started()
    {
        var reading = Signed<MeterReading>.Sign(new MeterReading(TestParties.Network, Charger, 1, Now, new EnergyWh(1_000)), MeterKey);
        var command = new StartSession(Session, Charger, Vehicle, new Money(40, Currency.Eur), new Money(100, Currency.Eur), reading.ToArray(), null);
        return ChargingSession.Evolve(ChargingSessionState.Empty,
            ChargingSession.DecideStart(command, reading, TestParties.Network, View(Charger, DeviceRole.Charger), Now).Value);
    }

    private static ChannelView ChannelOf(ChannelPhase phase) =>
        new(Channel, phase.ToWire(), PartyId.From(Vehicle), PartyId.From(Cpo), new Money(10_000, Currency.Eur), Money.Zero(Currency.Eur), 0, null, null);
}
