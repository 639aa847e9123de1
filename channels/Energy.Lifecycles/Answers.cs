using Energy.Channels;

namespace Energy.Lifecycles;

/// <summary>How a decision is told to whoever asked: its value, or its named error as a <see cref="Refusal"/>.</summary>
public static class Answers
{
    public static object Of<T>(Result<T> decision) => decision.IsOk ? decision.Value! : Refusal.From(decision.Error);
}
