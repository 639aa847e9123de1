using Akka.Actor;
using Akka.Persistence;
using Energy.Lifecycles.Tolls;
using Energy.Cluster.Kernel;

namespace Energy.Cluster.Tolls;

/// <summary>
/// A toll operator's office: the violation records its gantries file. Filing is at least once (a gantry
/// files again until acknowledged) and deduplicated here by violation id, so each violation is kept
/// exactly once. The newest <see cref="MaxKept"/> are kept for reading; the count covers all.
/// </summary>
public sealed class TollOffice : ReceivePersistentActor
{
    public const int MaxKept = 10_000;

    private readonly string _id;
    private readonly IActorRef _gantries;
    private readonly LinkedList<TollViolation> _latest = new();
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private long _total;

    public TollOffice(string id, IActorRef gantries)
    {
        _id = id;
        _gantries = gantries;
        Recover<OfficeViolationRecorded>(Apply);
        Recover<RecoveryCompleted>(_ => EnergyMetrics.EntityActivated("toll-office"));
        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<FileViolation>(file =>
        {
            var violation = file.Violation;
            if (_ids.Contains(violation.Id))
            {
                _gantries.Tell(new ViolationFiled(violation.Gantry, violation.Id));
                return;
            }
            PersistAsync(new OfficeViolationRecorded(violation), e =>
            {
                Apply(e);
                _gantries.Tell(new ViolationFiled(violation.Gantry, violation.Id));
            });
        });
        Command<GetViolations>(q => Sender.Tell(new ViolationList(q.Operator, _total, _latest.Reverse().ToList())));
    }

    public override string PersistenceId => "toll-office-" + _id;

    public static Props Props(string id, IActorRef gantries) => Akka.Actor.Props.Create(() => new TollOffice(id, gantries));

    private void Apply(OfficeViolationRecorded recorded)
    {
        // Ids of forgotten records are forgotten too; a gantry files only what it has not had acknowledged, which is recent.
        if (!_ids.Add(recorded.Violation.Id)) return;
        _total++;
        _latest.AddLast(recorded.Violation);
        while (_latest.Count > MaxKept)
        {
            _ids.Remove(_latest.First!.Value.Id);
            _latest.RemoveFirst();
        }
    }
}
