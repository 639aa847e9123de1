namespace Energy.Agents.Cli;

/// <summary>
/// What one round of the city left behind: the errors its devices and operators met, whether the ledger
/// conserved value, the shards whose chain did not audit as intact, and what stopped the round if it could not
/// finish (a refusal, a timeout, a node gone).
/// </summary>
public sealed record RoundOutcome(int Round, int Errors, bool Conserved, IReadOnlyList<string> ShardsNotIntact, string? Failure = null)
{
    public static RoundOutcome Stopped(int round, string failure) => new(round, 0, false, [], failure);

    public bool Clean => Failure is null && Errors == 0 && Conserved && ShardsNotIntact.Count == 0;

    /// <summary>Why the round failed, in words; empty when it did not.</summary>
    public string Problems()
    {
        if (Failure is not null) return $"it stopped: {Failure}";
        var problems = new List<string>();
        if (Errors > 0) problems.Add(Errors == 1 ? "1 error" : $"{Errors} errors");
        if (!Conserved) problems.Add("the ledger did not conserve value");
        if (ShardsNotIntact.Count > 0) problems.Add($"the chain of {string.Join(", ", ShardsNotIntact)} did not audit as intact");
        return string.Join("; ", problems);
    }
}

/// <summary>
/// Runs rounds one after another and keeps every round's outcome: the exit code is 0 only when every round was
/// clean (no errors, value conserved, every chain intact), 1 when any was not, whichever round that was. A round
/// that cannot finish is a failed round; the next one still runs.
/// </summary>
public sealed class CityRounds(TextWriter output)
{
    /// <summary>Told each round's outcome once it is known, clean or not (a status file for a container's health check).</summary>
    public Func<RoundOutcome, Task>? AfterRound { get; init; }

    public async Task<int> RunAsync(Func<int, CancellationToken, Task<RoundOutcome>> round, int rounds, CancellationToken token)
    {
        var failed = new List<RoundOutcome>();
        for (var number = 1; rounds == 0 || number <= rounds; number++)
        {
            RoundOutcome outcome;
            try
            {
                outcome = await round(number, token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                // Whatever stopped the round (a refusal, a timeout, a node gone, an answer not as expected) fails it, and names it.
                outcome = RoundOutcome.Stopped(number, $"{exception.GetType().Name}: {exception.Message}");
            }
            if (AfterRound is not null) await AfterRound(outcome);
            if (outcome.Clean) continue;
            failed.Add(outcome);
            output.WriteLine($"Round {number} failed: {outcome.Problems()}");
        }
        if (failed.Count == 0) return 0;
        output.WriteLine($"Failed rounds: {string.Join("; ", failed.Select(f => $"round {f.Round} ({f.Problems()})"))}");
        return 1;
    }
}
