using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Gateway;
using Energy.Lifecycles.Registry;
using Energy.Wire;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>
/// The device gateway's handshake as pure functions, played with scripts of hellos, right, forged, replayed and late
/// answers, calls, revocations and replacements over many devices, with the registry and the node's places answering
/// as a shell would. No call is served to a device that has not signed the connection's live challenge with its
/// registered key; a forged, replayed or stale answer is refused by name and spends only its challenge.
/// </summary>
public sealed class GatewayHandshakeProperties
{
    private const int Devices = 20;
    private const int RevokedInRegistry = 18;
    private const int Unregistered = 19;
    private const int NodePlaces = 100;
    private const int BehindRetryAfter = 3;
    private static readonly Timestamp Start = new(1_800_000_000_000);
    private static readonly long LifetimeMs = (long)GatewayProtocol.ChallengeLifetime.TotalMilliseconds;
    private static readonly DeviceId[] Ids = [.. Enumerable.Range(0, Devices).Select(i => DeviceId.Of($"device-{i}"))];
    private static readonly DeviceKeyPair[] Keys = [.. Enumerable.Range(0, Devices).Select(_ => DeviceKeyPair.Generate())];
    private static readonly DeviceKeyPair Stranger = DeviceKeyPair.Generate();

    private enum Move { HelloEveryDevice, Hello, Answer, Forge, Replay, AnswerLate, Call, RevokeOnNode, Replace, Advance, UnknownOp }

    private sealed record Step(Move Move, int Device, bool PlaceGiven, long AdvanceMs, bool NodeBehind);

    private static readonly Gen<Step> Steps =
        from move in Gen.Frequency(
            (8, Gen.Constant(Move.Hello)),
            (1, Gen.Constant(Move.HelloEveryDevice)),
            (6, Gen.Constant(Move.Answer)),
            (2, Gen.Constant(Move.Forge)),
            (2, Gen.Constant(Move.Replay)),
            (1, Gen.Constant(Move.AnswerLate)),
            (6, Gen.Constant(Move.Call)),
            (1, Gen.Constant(Move.RevokeOnNode)),
            (1, Gen.Constant(Move.Replace)),
            (1, Gen.Constant(Move.Advance)),
            (1, Gen.Constant(Move.UnknownOp)))
        // Most moves fall on a few devices, so that hellos, answers and calls meet; the rest spread over every device.
        from device in Gen.Frequency((3, Gen.Choose(0, 2)), (1, Gen.Choose(0, Devices - 1)))
        from placeGiven in Gen.Frequency((9, Gen.Constant(true)), (1, Gen.Constant(false)))
        from advance in Gen.Choose(0, 20_000)
        from behind in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
        select new Step(move, device, placeGiven, advance, behind);

    private static readonly Arbitrary<Step[]> Scripts = (
        from length in Gen.Choose(1, 60)
        from steps in Gen.ArrayOf(Steps, length)
        select steps).ToArbitrary();

    /// <summary>One step as it was played: when, the state before and after, the answer, and whether the node held the device's key revoked.</summary>
    private sealed record Played(Step Step, long NowMs, GatewayHandshakeState Before, GatewayHandshakeState After, HandshakeAnswer Answer, bool RevokedOnNode);

    [Property(MaxTest = 200)]
    public Property No_call_is_served_to_a_device_before_it_signed_the_connection_s_challenge_with_its_registered_key() =>
        Prop.ForAll(Scripts, script =>
        {
            // The devices the test saw welcomed after a right answer, and not since revoked or replaced.
            var welcomed = new HashSet<DeviceId>();
            foreach (var played in Play(script))
            {
                var device = Ids[played.Step.Device];
                if (played.Answer is HandshakeAnswer.Welcome { Registered: not null })
                {
                    Assert.Equal(Move.Answer, played.Step.Move);
                    Assert.True(played.Step.Device < RevokedInRegistry && !played.RevokedOnNode, $"{device} was welcomed without being admitted");
                    welcomed.Add(device);
                }
                if (played.Step.Move == Move.Replace || played.Answer is HandshakeAnswer.Revoked) welcomed.Remove(device);
                if (played.Answer is HandshakeAnswer.Serve serve)
                {
                    Assert.Contains(serve.Call.Device, welcomed);
                    Assert.False(played.RevokedOnNode, $"{device} was served with its key revoked");
                }
                if (played.Step.Move == Move.Call && !welcomed.Contains(device) && played.Answer is not HandshakeAnswer.Revoked)
                    Assert.Equal(nameof(GatewayError.NotAuthenticated), Code(played.Answer));
                Assert.True(played.After.Authenticated.SetEquals(welcomed), $"authenticated: {string.Join(", ", played.After.Authenticated)}; welcomed: {string.Join(", ", welcomed)}");
            }
        });

    [Property(MaxTest = 200)]
    public Property A_forged_or_replayed_answer_is_refused_by_name_and_spends_only_its_challenge() =>
        Prop.ForAll(Scripts, script =>
        {
            foreach (var played in Play(script).Where(p => p.Step.Move is Move.Forge or Move.Replay))
            {
                var device = Ids[played.Step.Device];
                var held = played.Before.Challenges.ContainsKey(device);
                var expected = !held ? nameof(GatewayError.NoChallenge)
                    : played.Step.Move == Move.Replay ? nameof(GatewayError.ChallengeMismatch)
                    : GatewayHandshake.Expired(played.Before.Challenges[device].Challenge, new Timestamp(played.NowMs)) ? nameof(GatewayError.ChallengeExpired)
                    : played.RevokedOnNode ? nameof(GatewayError.DeviceIsRevoked)
                    : nameof(GatewayError.InvalidSignature);
                Assert.Equal(expected, Code(played.Answer));
                AssertOnlySpent(played, device);
            }
        });

    [Property(MaxTest = 200)]
    public Property A_stale_challenge_is_refused_as_expired_and_authenticates_no_one() =>
        Prop.ForAll(Scripts, script =>
        {
            foreach (var played in Play(script).Where(p => p.Step.Move == Move.AnswerLate))
            {
                var device = Ids[played.Step.Device];
                var expected = played.Before.Challenges.ContainsKey(device) ? nameof(GatewayError.ChallengeExpired) : nameof(GatewayError.NoChallenge);
                Assert.Equal(expected, Code(played.Answer));
                AssertOnlySpent(played, device);
            }
        });

    [Property(MaxTest = 200)]
    public Property A_refused_hello_or_call_changes_nothing_and_the_connection_holds_its_bounds() =>
        Prop.ForAll(Scripts, script =>
        {
            foreach (var played in Play(script))
            {
                Assert.True(played.After.Challenges.Count <= GatewayProtocol.MaxChallengesPerConnection);
                Assert.Empty(played.After.Challenges.Keys.Intersect(played.After.Authenticated));
                if (played.Answer is HandshakeAnswer.Refused && played.Step.Move is Move.Call or Move.UnknownOp) Assert.Same(played.Before, played.After);
                if (played.Answer is HandshakeAnswer.Refused && played.Step.Move == Move.Hello)
                {
                    // A hello drops only challenges past their lifetime.
                    Assert.True(played.Before.Authenticated.SetEquals(played.After.Authenticated));
                    Assert.All(played.Before.Challenges.Keys.Except(played.After.Challenges.Keys), dropped => Assert.True(played.Before.Challenges[dropped].Challenge.IssuedAt.UnixMilliseconds < played.NowMs - LifetimeMs));
                    Assert.All(played.After.Challenges, kept => Assert.Equal(played.Before.Challenges[kept.Key], kept.Value));
                }
                if (played.Answer is HandshakeAnswer.Challenge && !played.Before.Challenges.ContainsKey(Ids[played.Step.Device]))
                    Assert.True(played.Step.PlaceGiven, "a new challenge was issued without a place on the node");
                if (played.Step.Move == Move.Hello && played.Step.Device == Unregistered && !played.Before.Authenticated.Contains(Ids[Unregistered]))
                    Assert.IsNotType<HandshakeAnswer.Challenge>(played.Answer);
            }
        });

    [Property(MaxTest = 200)]
    public Property A_node_behind_takes_on_no_new_device_and_says_when_to_come_back_but_a_device_holding_a_challenge_gets_a_new_one() =>
        Prop.ForAll(Scripts, script =>
        {
            foreach (var played in Play(script).Where(p => p.Step.Move == Move.Hello && p.Step.NodeBehind))
            {
                var device = Ids[played.Step.Device];
                var holding = played.Before.Challenges.TryGetValue(device, out var held) && !GatewayHandshake.Expired(held.Challenge, new Timestamp(played.NowMs));
                if (played.Answer is HandshakeAnswer.Challenge) Assert.True(holding, $"{device} was given a place while the node was behind");
                if (played.Answer is HandshakeAnswer.Refused { Error: GatewayError.GatewayBusy busy })
                {
                    Assert.Equal(BehindRetryAfter, busy.RetryAfterSeconds);
                    Assert.False(played.After.Challenges.ContainsKey(device));
                }
                // Neither a stranger nor a revoked device is told more than that the node is busy: the registry was not asked.
                if (!holding && !played.Before.Authenticated.Contains(device) && Code(played.Answer) is not (nameof(GatewayError.TooManyDevices) or nameof(GatewayError.TooManyChallenges)))
                    Assert.Equal(nameof(GatewayError.GatewayBusy), Code(played.Answer));
            }
        });

    [Property(MaxTest = 200)]
    public Property A_connection_closes_when_its_last_device_authenticated_on_a_newer_one() =>
        Prop.ForAll(Scripts, script =>
        {
            foreach (var played in Play(script).Where(p => p.Step.Move == Move.Replace))
            {
                Assert.DoesNotContain(Ids[played.Step.Device], played.After.Authenticated);
                Assert.Equal(played.After.Authenticated.IsEmpty, played.Answer is HandshakeAnswer.Replaced);
            }
        });

    private static void AssertOnlySpent(Played played, DeviceId device)
    {
        Assert.True(played.Before.Authenticated.SetEquals(played.After.Authenticated), $"{device}'s refused answer changed who is authenticated");
        Assert.Equal(played.Before.EverAuthenticated, played.After.EverAuthenticated);
        var left = played.Before.Challenges.Remove(device);
        Assert.True(left.Count == played.After.Challenges.Count && left.All(c => played.After.Challenges.TryGetValue(c.Key, out var kept) && kept.Equals(c.Value)),
            $"{device}'s refused answer changed other challenges than its own");
    }

    private static string? Code(HandshakeAnswer answer) => answer is HandshakeAnswer.Refused refused ? refused.Error.Code : null;

    /// <summary>Plays a script as the gateway's shell would: the registry and the node answer, and every answer sent is kept to be replayed.</summary>
    private static List<Played> Play(Step[] script)
    {
        var state = GatewayHandshakeState.Empty;
        var now = Start.UnixMilliseconds;
        var nonces = 0;
        var revokedOnNode = new HashSet<int>();
        var sent = new Dictionary<int, byte[]>();
        var played = new List<Played>();
        // A burst of hellos, one for every device, reaches the connection's bound on challenges.
        var steps = script.SelectMany(s => s.Move == Move.HelloEveryDevice ? Enumerable.Range(0, Devices).Select(d => s with { Move = Move.Hello, Device = d }) : [s]);
        foreach (var step in steps)
        {
            var device = Ids[step.Device];
            if (step.Move == Move.AnswerLate) now += LifetimeMs + 1 + step.AdvanceMs;
            if (step.Move == Move.Advance) now += step.AdvanceMs;
            if (step.Move == Move.RevokeOnNode) revokedOnNode.Add(step.Device);
            var revoked = revokedOnNode.Contains(step.Device);
            var at = new Timestamp(now);
            var before = state;
            HandshakeStep taken;
            switch (step.Move)
            {
                case Move.Hello:
                    taken = GatewayHandshake.Receive(state, Frame(GatewayFrameWriter.Hello(device)), at, revoked);
                    if (taken.Answer is HandshakeAnswer.LookUpToChallenge hello)
                    {
                        // A node behind with the devices it took on refuses a hello before it asks the registry, as the shell does.
                        if (step.NodeBehind && GatewayHandshake.Defer(taken.State, hello, ChallengePlace.Behind(NodePlaces, BehindRetryAfter)) is { } deferred)
                        {
                            taken = deferred;
                            break;
                        }
                        var place = new ChallengePlace(hello.TakesPlace && step.PlaceGiven, NodePlaces);
                        taken = GatewayHandshake.Challenge(taken.State, hello, Registered(step.Device), revoked, place, TestParties.Network, Nonce(++nonces), at);
                    }
                    break;
                case Move.Answer or Move.Forge or Move.Replay or Move.AnswerLate:
                    var neverIssued = new AuthenticationChallenge(TestParties.Network, PartyId.From(device), Nonce(++nonces), at);
                    var answer = step.Move == Move.Replay ? sent.GetValueOrDefault(step.Device) ?? Sign(neverIssued, Keys[step.Device])
                        : Sign(state.Challenges.GetValueOrDefault(device)?.Challenge ?? neverIssued, step.Move == Move.Forge ? Stranger : Keys[step.Device]);
                    sent[step.Device] = answer;
                    taken = GatewayHandshake.Receive(state, Frame(GatewayFrameWriter.Auth(device, answer)), at, revoked);
                    break;
                case Move.Call:
                    taken = GatewayHandshake.Receive(state, Frame(GatewayFrameWriter.Call(played.Count, device, GatewayActions.TollGantry, new { })), at, revoked);
                    break;
                case Move.Replace:
                    taken = GatewayHandshake.Replaced(state, device);
                    break;
                case Move.UnknownOp:
                    taken = GatewayHandshake.Receive(state, Frame(System.Text.Encoding.UTF8.GetBytes($$"""{"op":"bye","device":"{{device.Value}}"}""")), at, revoked);
                    break;
                default:
                    taken = new HandshakeStep(state, HandshakeAnswer.NothingToSend.Instance);
                    break;
            }
            state = taken.State;
            played.Add(new Played(step, now, before, state, taken.Answer, revoked));
        }
        return played;
    }

    private static DeviceView? Registered(int device) => device == Unregistered ? null
        : new DeviceView(Ids[device], OperatorId.Of("cpo-1"), DeviceRole.Charger, Keys[device].PublicKey.Hex, device == RevokedInRegistry, Start, null);

    private static byte[] Sign(AuthenticationChallenge challenge, DeviceKeyPair key) => Signed<AuthenticationChallenge>.Sign(challenge, key).ToArray();

    private static byte[] Nonce(int count)
    {
        var nonce = new byte[AuthenticationChallenge.NonceBytes];
        BitConverter.TryWriteBytes(nonce, count);
        return nonce;
    }

    private static GatewayFrame Frame(byte[] message) =>
        GatewayCodec.ReadMessage(message, batching: false).Single().Frame ?? throw new InvalidOperationException("the test wrote a frame the codec refused");
}
