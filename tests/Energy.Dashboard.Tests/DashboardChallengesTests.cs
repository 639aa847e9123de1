using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Dashboard.Tests;

/// <summary>The dashboard's sign-in challenges: bounded per operator and per node, kept through wrong answers, used once.</summary>
public sealed class DashboardChallengesTests
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");
    private static readonly OperatorId Grid = OperatorId.Of("grid-1");
    private static readonly Timestamp Now = new(1_800_000_000_000);

    [Fact]
    public void A_stranger_filling_one_operators_challenges_is_refused_past_the_bound_and_other_operators_still_sign_in()
    {
        var challenges = new DashboardChallenges();
        for (var i = 0; i < DashboardChallenges.DefaultMaxPerOperator; i++) Assert.True(challenges.Issue(Network, Grid, Now).IsOk);
        Assert.Equal(new TooManySignInsForOperator(Grid, DashboardChallenges.DefaultMaxPerOperator), challenges.Issue(Network, Grid, Now).Error);
        Assert.Equal(DashboardChallenges.DefaultMaxPerOperator, challenges.Count);
        Assert.True(challenges.Issue(Network, OperatorId.Of("cpo-1"), Now).IsOk);
    }

    [Fact]
    public void The_node_holds_at_most_its_bound_of_challenges_whatever_the_operators()
    {
        var challenges = new DashboardChallenges(maxOutstanding: 10, maxPerOperator: 4);
        for (var i = 0; i < 10; i++) Assert.True(challenges.Issue(Network, OperatorId.Of($"op-{i}"), Now).IsOk);
        Assert.Equal(new TooManySignIns(10), challenges.Issue(Network, OperatorId.Of("op-late"), Now).Error);
        Assert.Equal(10, challenges.Count);
        // Expired challenges make room again.
        Assert.True(challenges.Issue(Network, OperatorId.Of("op-late"), new Timestamp(Now.UnixMilliseconds + 60_001)).IsOk);
        Assert.Equal(1, challenges.Count);
    }

    [Fact]
    public void A_wrong_answer_does_not_use_up_the_challenge_and_a_right_one_uses_it_exactly_once()
    {
        var challenges = new DashboardChallenges();
        var issued = challenges.Issue(Network, Grid, Now).Value;
        // Finding it (as a sign-in does before it checks the signature) leaves it outstanding, however often.
        for (var i = 0; i < 3; i++) Assert.Equal(issued.Challenge, challenges.Find(issued.Text, Grid, Now).Value);
        Assert.True(challenges.Consume(issued.Text));
        Assert.False(challenges.Consume(issued.Text));
        Assert.IsType<NoChallenge>(challenges.Find(issued.Text, Grid, Now).Error);
        Assert.Equal(0, challenges.Count);
    }

    [Fact]
    public void A_challenge_answers_only_for_its_operator_only_within_its_lifetime_and_only_as_issued()
    {
        var challenges = new DashboardChallenges();
        var issued = challenges.Issue(Network, Grid, Now).Value;
        Assert.Equal(PartyId.From(Grid), issued.Challenge.Party);
        Assert.Equal(issued.Text, Convert.ToBase64String(Signed<AuthenticationChallenge>.EncodeBody(issued.Challenge)));
        Assert.IsType<NoChallenge>(challenges.Find(issued.Text, OperatorId.Of("grid-2"), Now).Error);
        Assert.IsType<NoChallenge>(challenges.Find("garbage", Grid, Now).Error);
        Assert.IsType<NoChallenge>(challenges.Find(new string('A', DashboardChallenges.MaxTextLength + 1), Grid, Now).Error);
        Assert.IsType<ChallengeExpired>(challenges.Find(issued.Text, Grid, new Timestamp(Now.UnixMilliseconds + 60_001)).Error);
        // An expired challenge is dropped and frees its operator's slot.
        Assert.Equal(0, challenges.Count);
    }

    [Fact]
    public void Used_and_expired_challenges_free_their_operators_slots()
    {
        var challenges = new DashboardChallenges();
        var first = challenges.Issue(Network, Grid, Now).Value;
        for (var i = 1; i < DashboardChallenges.DefaultMaxPerOperator; i++) challenges.Issue(Network, Grid, new Timestamp(Now.UnixMilliseconds + 30_000));
        Assert.False(challenges.Issue(Network, Grid, new Timestamp(Now.UnixMilliseconds + 30_000)).IsOk);
        Assert.True(challenges.Consume(first.Text));
        Assert.True(challenges.Issue(Network, Grid, new Timestamp(Now.UnixMilliseconds + 30_000)).IsOk);
        Assert.False(challenges.Issue(Network, Grid, new Timestamp(Now.UnixMilliseconds + 30_000)).IsOk);
        // A minute and a bit after they were issued, all of them have expired.
        Assert.True(challenges.Issue(Network, Grid, new Timestamp(Now.UnixMilliseconds + 90_001)).IsOk);
        Assert.Equal(1, challenges.Count);
    }
}
