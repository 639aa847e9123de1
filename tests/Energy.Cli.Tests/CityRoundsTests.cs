using Energy.Agents;
using Energy.Agents.Cli;

namespace Energy.Cli.Tests;

/// <summary>
/// The city's exit code tells the truth about every round, not only the last: any round with errors, a chain
/// that did not audit as intact, value not conserved, or a round that could not finish makes it 1, and the
/// output names the round and what went wrong.
/// </summary>
public sealed class CityRoundsTests
{
    private static readonly RoundOutcome Clean = new(0, 0, true, []);

    private static async Task<(int ExitCode, string Output, List<int> Ran)> RunAsync(int rounds, Func<int, RoundOutcome> outcome)
    {
        using var output = new StringWriter();
        var ran = new List<int>();
        var exitCode = await new CityRounds(output).RunAsync((round, _) =>
        {
            ran.Add(round);
            return Task.FromResult(outcome(round) with { Round = round });
        }, rounds, CancellationToken.None);
        return (exitCode, output.ToString(), ran);
    }

    [Fact]
    public async Task Every_round_clean_exits_0_and_names_no_failed_round()
    {
        var (exitCode, output, ran) = await RunAsync(3, _ => Clean);

        Assert.Equal(0, exitCode);
        Assert.Equal([1, 2, 3], ran);
        Assert.DoesNotContain("failed", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Errors_in_a_middle_round_exit_1_though_the_last_round_was_clean_and_the_output_names_that_round()
    {
        var (exitCode, output, ran) = await RunAsync(3, round => round == 2 ? Clean with { Errors = 19 } : Clean);

        Assert.Equal(1, exitCode);
        Assert.Equal([1, 2, 3], ran);
        Assert.Contains("Round 2 failed: 19 errors", output, StringComparison.Ordinal);
        Assert.Contains("Failed rounds: round 2 (19 errors)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Round 3 failed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chain_not_intact_in_the_first_round_exits_1_naming_the_round_and_the_shard()
    {
        var (exitCode, output, _) = await RunAsync(2, round => round == 1 ? Clean with { ShardsNotIntact = ["ledger-3", "ledger-5"] } : Clean);

        Assert.Equal(1, exitCode);
        Assert.Contains("Round 1 failed: the chain of ledger-3, ledger-5 did not audit as intact", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Value_not_conserved_in_the_last_round_exits_1_naming_the_round()
    {
        var (exitCode, output, _) = await RunAsync(2, round => round == 2 ? Clean with { Conserved = false } : Clean);

        Assert.Equal(1, exitCode);
        Assert.Contains("Round 2 failed: the ledger did not conserve value", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_round_that_cannot_finish_fails_by_name_and_the_next_round_still_runs()
    {
        using var output = new StringWriter();
        var ran = new List<int>();
        var exitCode = await new CityRounds(output).RunAsync((round, _) =>
        {
            ran.Add(round);
            if (round == 1) throw new NodeClient.NodeRefusedException("Timeout", "the network did not answer in time");
            return Task.FromResult(Clean with { Round = round });
        }, 2, CancellationToken.None);

        Assert.Equal(1, exitCode);
        Assert.Equal([1, 2], ran);
        Assert.Contains("Round 1 failed: it stopped: NodeRefusedException: Timeout: the network did not answer in time", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endless_city_stopped_by_its_token_reports_the_rounds_that_failed_before()
    {
        using var output = new StringWriter();
        using var stop = new CancellationTokenSource();
        var exitCode = await new CityRounds(output).RunAsync((round, token) =>
        {
            if (round == 3) stop.Cancel();
            token.ThrowIfCancellationRequested();
            return Task.FromResult(round == 2 ? Clean with { Round = round, Errors = 1 } : Clean with { Round = round });
        }, 0, stop.Token);

        Assert.Equal(1, exitCode);
        Assert.Contains("Failed rounds: round 2 (1 error)", output.ToString(), StringComparison.Ordinal);
    }
}
