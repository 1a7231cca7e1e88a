using Akka.Actor;
using Akka.Persistence;

namespace Siyu.Actors.Identity;

/// <summary>
/// One entity per identifier value: the single place that decides which customer owns it.
/// Because one actor handles one id's messages one at a time, two events that arrive at once
/// with the same new id cannot both create a customer for it: the second claim gets the first
/// claimer's answer. The answer is sent only after the ownership is journaled, so a crash can
/// never forget an owner that some customer already relies on.
/// </summary>
public sealed class IdentityEntity : ReceivePersistentActor
{
    private string? _owner;

    public override string PersistenceId { get; }

    public IdentityEntity(string key)
    {
        // Hashed: the persistence id outlives a deleted journal's rows as a marker, and must not
        // keep a member_id or device_id after erasure.
        PersistenceId = "id-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)))[..40];
        Recover<IdOwnerSet>(e => _owner = e.Owner);
        Recover<IdOwnerCleared>(_ => _owner = null);
        Recover<SnapshotOffer>(o => _owner = (string?)o.Snapshot);

        Command<ClaimId>(c =>
        {
            if (_owner is not null)
            {
                Sender.Tell(new IdOwner(c.Key, _owner));
                return;
            }
            Persist(new IdOwnerSet(c.ProposedOwner), e =>
            {
                _owner = e.Owner;
                Sender.Tell(new IdOwner(c.Key, _owner));
            });
        });
        Command<RepointId>(r =>
        {
            // Only the owner the merge saw is replaced; anything else means a newer decision won.
            if (_owner == r.From)
            {
                Persist(new IdOwnerSet(r.To), e => _owner = e.Owner);
            }
        });
        Command<ReleaseId>(r =>
        {
            if (_owner != r.Owner)
            {
                Sender.Tell(new IdReleased(r.Key));
                return;
            }
            var replyTo = Sender;
            Persist(new IdOwnerCleared(), _ =>
            {
                _owner = null;
                // Erasure: drop the journal rows too, so the id (a hashed phone...) is really gone.
                DeleteMessages(LastSequenceNr);
                replyTo.Tell(new IdReleased(r.Key));
            });
        });
        Command<LookupId>(q => Sender.Tell(new IdOwner(q.Key, _owner)));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    public static Props PropsFor(string key) => Props.Create(() => new IdentityEntity(key));
}
