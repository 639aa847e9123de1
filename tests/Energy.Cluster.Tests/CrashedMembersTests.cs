using Akka.Actor;
using Akka.Cluster;
using Energy.Cluster.Hosting;

namespace Energy.Cluster.Tests;

/// <summary>
/// When a node may down a member whose remoting port refuses connections: only another member, only while this node is
/// up, and only when the members left (without it and without the unreachable ones) are a majority, as keep-majority
/// would decide. A node cut off from the others never downs them this way.
/// </summary>
public sealed class CrashedMembersTests
{
    private static readonly Address A = Node(1), B = Node(2), C = Node(3), D = Node(4), E = Node(5);

    private static Address Node(int port) => new("akka.tcp", "energy", "127.0.0.1", 25_000 + port);

    private static (Address, MemberStatus)[] Up(params Address[] nodes) => nodes.Select(n => (n, MemberStatus.Up)).ToArray();

    [Fact]
    public void Two_of_three_down_the_third()
    {
        Assert.True(CrashedMembers.MayDown(C, A, Up(A, B, C), []));
    }

    [Fact]
    public void One_cut_off_from_two_others_downs_neither()
    {
        Assert.False(CrashedMembers.MayDown(B, A, Up(A, B, C), [C]));
        Assert.False(CrashedMembers.MayDown(C, A, Up(A, B, C), [B]));
    }

    [Fact]
    public void Of_two_nodes_neither_downs_the_other()
    {
        Assert.False(CrashedMembers.MayDown(B, A, Up(A, B), []));
    }

    [Fact]
    public void Of_five_three_down_a_fourth_only_while_the_fifth_is_reachable()
    {
        Assert.True(CrashedMembers.MayDown(D, A, Up(A, B, C, D, E), []));
        Assert.True(CrashedMembers.MayDown(D, A, Up(A, B, C, D, E), [E]));
        Assert.False(CrashedMembers.MayDown(D, A, Up(A, B, C, D, E), [E, C]));
    }

    [Fact]
    public void A_member_already_down_or_leaving_the_cluster_counts_for_nothing()
    {
        var members = new[] { (A, MemberStatus.Up), (B, MemberStatus.Up), (C, MemberStatus.Down), (D, MemberStatus.Exiting), (E, MemberStatus.Up) };
        Assert.False(CrashedMembers.MayDown(C, A, members, []));
        Assert.False(CrashedMembers.MayDown(D, A, members, []));
        Assert.True(CrashedMembers.MayDown(E, A, members, []));
    }

    [Fact]
    public void Never_itself_nor_a_stranger_nor_while_this_node_is_not_up()
    {
        Assert.False(CrashedMembers.MayDown(A, A, Up(A, B, C), []));
        Assert.False(CrashedMembers.MayDown(D, A, Up(A, B, C), []));
        Assert.False(CrashedMembers.MayDown(C, A, [(A, MemberStatus.Leaving), (B, MemberStatus.Up), (C, MemberStatus.Up)], []));
        Assert.False(CrashedMembers.MayDown(C, A, [(A, MemberStatus.Joining), (B, MemberStatus.Up), (C, MemberStatus.Up)], []));
    }
}
