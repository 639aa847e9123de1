using Energy.Channels;

namespace Energy.Cluster.Kernel;

/// <summary>How a channel entity takes the ledger's answer about its escrow once its core has judged it.</summary>
public static class EscrowAnswers
{
    /// <summary>
    /// The event the core made of a ledger answer, or null when the answer does not fit the channel: then it is raised as
    /// an alert (<see cref="EscrowClient.Alert"/>) and never acted on.
    /// </summary>
    public static T? Confirmed<T>(this EscrowClient escrow, Result<T> judged) where T : class
    {
        if (judged.IsOk) return judged.Value;
        escrow.Alert(judged.Error);
        return null;
    }
}
