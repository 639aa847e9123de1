using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Tolls;

/// <summary>What a pass's channel said it holds paid for the pass when asked after a restart (none when it never answered), piped back to the gantry.</summary>
public sealed record PassPaymentFound(PassId Pass, object? Answer);

/// <summary>
/// How a gantry's passes are paid over each vehicle's channel to the operator. A vehicle's voucher is decided by the
/// <paramref name="book"/>; one the book hands to a channel goes there only once which channel it is on is durable
/// (<paramref name="persist"/>, the gantry's <c>PersistAsync</c>): a crash in between leaves a pass the gantry settles by
/// asking that channel. The channel persists the voucher before it answers (<see cref="ChannelPayments"/>), and its answer
/// comes back as a message, never awaited, for the book to decide. After a restart, the channel of each pass whose voucher
/// was handed to one is asked what it holds paid for the pass, a bounded number of times (<see cref="RetriedAsks"/>), and the
/// pass is not late meanwhile. What the book resolves goes to <paramref name="resolve"/> (the gantry's persist; the payer, if
/// any, hears once it is durable). Where a vehicle paid from is remembered (<paramref name="push"/>), so that its next toll
/// request reaches it there without asking its twin.
/// </summary>
public sealed class GantryPayments(IActorContext context, IActorRef channels, EnergySettings settings, TollPassBook book, GantryPushes push,
    Action<PassPaymentSubmitted, Action<PassPaymentSubmitted>> persist, Action<IEnergyMessage, IActorRef?, System.Diagnostics.Activity?> resolve)
{
    private const int MaxChannelAsks = 5;

    // An error is an immutable value: every payment whose channel gives no answer in time is refused with this one.
    private static readonly NotAnsweredInTime ChannelUnanswered = new("channel");

    private Timestamp Now => settings.Clock.Now;

    /// <summary>
    /// A vehicle's voucher for one of its passes: answered at once when the book decides nothing (refused by name, or the
    /// pass as it stands); a voucher that resolves the pass at once (one violation) resolves it; any other goes to its
    /// channel once durable, and the payer hears the pass as it resolves by the channel's answer.
    /// </summary>
    public void Pay(PayToll command, IActorRef payer)
    {
        var voucher = Signed<Voucher>.Decode(command.Voucher);
        var decided = book.DecidePay(command.Pass, command.Vehicle, voucher, Now);
        if (decided.Pass is null) { payer.Tell(decided.Answer); return; }
        push.VehicleOn(command.Vehicle, command.Connection);
        // The pass's payment, until it resolves: the channel's span is this one's child.
        var span = EnergyTracing.StartHandling("gantry.pay", command.TraceParent);
        if (decided.Decided is not PassPaymentSubmitted submitted) { resolve(decided.Decided!, payer, span); return; }
        book.PaymentStarted(submitted.Pass);
        persist(submitted, e =>
        {
            book.Apply(e);
            ChannelPayments.Submit(context, channels, e.Channel, command.Voucher, settings.AskTimeout, (e.Pass, voucher.Value), payer, span, ChannelUnanswered);
        });
    }

    /// <summary>
    /// The channel answered a pass's voucher, or gave no answer in time: the book resolves the pass by the answer; a pass
    /// that resolved meanwhile (its deadline passed while the channel checked) is not resolved again, and the payer hears why by name.
    /// </summary>
    public void Answered(VoucherAnswered<(PassId Pass, Signed<Voucher> Voucher)> answered)
    {
        book.PaymentEnded(answered.For.Pass);
        var decided = book.DecideAnswer(answered.For.Pass, answered.For.Voucher, answered.Answer, Now);
        if (decided.Resolution is { } resolution) { resolve(resolution, answered.ReplyTo, answered.Span); return; }
        EnergyTracing.End(answered.Span, "resolved while the voucher was checked");
        answered.ReplyTo.Tell(Refusal.From(decided.Refused!));
    }

    /// <summary>After a restart: a pass whose voucher was handed to its channel waits, not swept as late, for that channel to say what it holds paid.</summary>
    public void Resume()
    {
        foreach (var pass in book.ResumePayments())
            RetriedAsks.PipeTo(channels, TollPasses.PaidToAsk(pass), settings.AskTimeout, MaxChannelAsks, context.Self, answer => new PassPaymentFound(pass.Id, answer));
    }

    /// <summary>What the channel found paid for a pass after a restart: the pass is paid by it, or else left to its deadline.</summary>
    public void Found(PassPaymentFound found)
    {
        if (book.DecideFound(found.Pass, found.Answer, Now) is { } paid) resolve(paid, null, null);
    }
}
