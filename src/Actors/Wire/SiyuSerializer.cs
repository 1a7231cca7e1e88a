using System.Collections.Frozen;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Identity;
using Siyu.Actors.Operations;

namespace Siyu.Actors.Wire;

/// <summary>
/// The wire format of every Siyu message that can cross nodes, with short stable manifests instead
/// of .NET type names (Akka's default serializer writes Newtonsoft JSON with type names: slow,
/// large, and broken by any rename). Bound per type by <see cref="WireFormats"/>; the node runs with
/// strict serialization, so a message type missing here fails loudly instead of falling back.
///
/// Compact binary (<see cref="WireWriter"/>): the hot-path messages (CustomerBatch, EventOutcome,
/// IdentityRequest/Reply) thousands of times a second, and the rest because it is the same few
/// lines. A customer's state travels in its persisted snapshot format (<see cref="CustomerSnapshot"/>,
/// JSON, format 1), which is versioned on its own.
///
/// Akka calls this only for messages that leave or reach the node over remoting; each is counted
/// in siyu_wire_messages_total and siyu_wire_bytes_total by manifest and direction (<see cref="WireMetrics"/>).
///
/// Rules: a manifest names one byte layout forever. To change a layout, add a new manifest
/// ("cb2"), write it, and keep reading the old one for as long as a node or a stored byte may
/// carry it. tests/Siyu.Actors.Tests/Wire holds golden bytes of each manifest and fails on any
/// change. The serializer id (<see cref="Id"/>) is on every remote message: never change it.
///
/// | manifest | message | sent by, to | where it crosses nodes |
/// |---|---|---|---|
/// | cb1 | <see cref="CustomerBatch"/> (items hold the <see cref="Siyu.Contracts.Events.InputEvent"/>, see <see cref="InputEventWire"/>; ReplyTo as a serialized actor path) | ingest (CustomerEventHandler), a forwarding CustomerActor → customer region | the shard lives on another node (hot path) |
/// | eo1 | <see cref="EventOutcome"/> | CustomerActor / CustomerShard → CustomerBatch.ReplyTo | back to the ingesting node (hot path) |
/// | ac1 | <see cref="AbsorbCustomer"/> (its state as a snapshot) | merged CustomerActor → customer region (ask) | survivor elsewhere |
/// | aa1 | <see cref="CustomerAbsorbedReply"/> | survivor → asker | reply |
/// | mi1 | <see cref="MergeInto"/> | IdentityResolver → customer region (ask) | customer elsewhere |
/// | mr1 | <see cref="MergedReply"/> | CustomerActor → resolver | reply |
/// | ec1 | <see cref="EraseCustomer"/> | API, erasing CustomerActor → customer region | customer elsewhere |
/// | ce1 | <see cref="CustomerErased"/> | CustomerActor / CustomerShard → asker | reply |
/// | ea1 | <see cref="EraseAbsorbed"/> | erased CustomerActor → customer region (ask) | absorbed customer elsewhere |
/// | pc1 | <see cref="PokeCustomerShard"/> | ShardKeeper (every node) → customer region | shard elsewhere |
/// | sc1 | <see cref="StopCustomerShard"/> | sharding's hand-off stop message | local today; bound so it never falls back |
/// | gc1 | <see cref="GetCustomer"/> | bench, tools → customer region (ask) | customer elsewhere |
/// | st1 | <see cref="CustomerState"/> | CustomerActor / CustomerShard → GetCustomer asker | reply |
/// | gi1 | <see cref="GetIdentity"/> | IdentityResolver → customer region (ask) | customer elsewhere |
/// | ci1 | <see cref="CustomerIdentity"/> | CustomerActor / CustomerShard → resolver | reply |
/// | wc1 | <see cref="WakeCustomer"/> | CustomerShard → its own customers | local today |
/// | cw1 | <see cref="CustomerWoken"/> | CustomerActor → its shard | local today |
/// | ir1 | <see cref="IdentityRequest"/> | IdentityResolver, CustomerActor (repoint, release) → identity region | index shard elsewhere (hot path) |
/// | iy1 | <see cref="IdentityReply"/> | IdentityShard → asker | reply (hot path) |
/// | pi1 | <see cref="PokeIdentityShard"/> | → identity region | shard elsewhere |
/// | si1 | <see cref="StopIdentityShard"/> | sharding's hand-off stop message | local today |
///
/// Not here: <see cref="Status.Failure"/> (a failed ask; Akka's own serializer), sharding's and
/// the cluster's own messages (Akka's), the decider's commands (Observe, Absorb, BeginHandOver,
/// MarkMergedInto, Tick: arguments of CustomerDecider.Decide, never sent), and the messages
/// between an actor and itself, its children or its tasks (Deliver, Loaded, SaveSucceeded...).
/// </summary>
public sealed class SiyuSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>Akka's serializer id of this format (0-100 are Akka's own).</summary>
    public const int Id = 1407;

    /// <summary>Every message type with its manifest; the HOCON bindings are made from it.</summary>
    public static readonly FrozenDictionary<Type, string> Manifests = new Dictionary<Type, string>
    {
        [typeof(CustomerBatch)] = "cb1",
        [typeof(EventOutcome)] = "eo1",
        [typeof(AbsorbCustomer)] = "ac1",
        [typeof(CustomerAbsorbedReply)] = "aa1",
        [typeof(MergeInto)] = "mi1",
        [typeof(MergedReply)] = "mr1",
        [typeof(EraseCustomer)] = "ec1",
        [typeof(CustomerErased)] = "ce1",
        [typeof(EraseAbsorbed)] = "ea1",
        [typeof(PokeCustomerShard)] = "pc1",
        [typeof(StopCustomerShard)] = "sc1",
        [typeof(GetCustomer)] = "gc1",
        [typeof(CustomerState)] = "st1",
        [typeof(GetIdentity)] = "gi1",
        [typeof(CustomerIdentity)] = "ci1",
        [typeof(WakeCustomer)] = "wc1",
        [typeof(CustomerWoken)] = "cw1",
        [typeof(IdentityRequest)] = "ir1",
        [typeof(IdentityReply)] = "iy1",
        [typeof(PokeIdentityShard)] = "pi1",
        [typeof(StopIdentityShard)] = "si1",
    }.ToFrozenDictionary();

    public override int Identifier => Id;

    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType()} has no Siyu wire format", nameof(o));

    public override byte[] ToBinary(object obj)
    {
        var w = WireWriter.Rent();
        switch (obj)
        {
            case CustomerBatch b:
                w.VarInt(b.Shard);
                w.String(Serialization.SerializedActorPath(b.ReplyTo));
                w.VarUInt((ulong)b.Items.Count);
                foreach (var item in b.Items)
                {
                    w.VarInt(item.Ticket);
                    w.String(item.CustomerId);
                    w.Bool(item.MaybeSeen);
                    InputEventWire.Write(w, item.Event);
                }
                break;
            case EventOutcome o:
                w.VarInt(o.Ticket);
                w.String(o.CustomerId);
                w.Byte(OutcomeCode(o.Kind));
                w.String(o.Reason);
                w.String(o.Detail);
                break;
            case AbsorbCustomer a:
                w.String(a.CustomerId);
                w.Bytes(CustomerSnapshot.Serialize(a.Other));
                break;
            case CustomerAbsorbedReply r:
                w.String(r.CustomerId);
                w.String(r.AbsorbedId);
                break;
            case MergeInto m:
                w.String(m.CustomerId);
                w.String(m.SurvivorId);
                break;
            case MergedReply r:
                w.String(r.CustomerId);
                w.String(r.MergedInto);
                break;
            case EraseCustomer e:
                w.String(e.CustomerId);
                break;
            case CustomerErased e:
                w.String(e.CustomerId);
                w.Bool(e.Found);
                break;
            case EraseAbsorbed e:
                w.String(e.CustomerId);
                w.String(e.SurvivorId);
                break;
            case PokeCustomerShard p:
                w.VarInt(p.Shard);
                break;
            case StopCustomerShard or StopIdentityShard:
                break;
            case GetCustomer g:
                w.String(g.CustomerId);
                break;
            case CustomerState s:
                // The persisted snapshot as is: st1 is "a snapshot", whose JSON carries its own format number.
                w.Bytes(CustomerSnapshot.Serialize(s));
                break;
            case GetIdentity g:
                w.String(g.CustomerId);
                break;
            case CustomerIdentity i:
                w.String(i.CustomerId);
                w.Instant(i.CreatedAt);
                w.String(i.MergedInto);
                w.VarUInt((ulong)i.Ids.Count);
                foreach (var id in i.Ids.AsSpan())
                {
                    w.Byte(InputEventWire.IdTypeCode(id.Type));
                    w.String(id.Value);
                }
                w.Bool(i.HandOverPending);
                break;
            case WakeCustomer k:
                w.String(k.CustomerId);
                w.Instant(k.DueAt);
                break;
            case CustomerWoken k:
                w.String(k.CustomerId);
                w.Instant(k.DueAt);
                break;
            case IdentityRequest r:
                w.VarInt(r.Shard);
                w.VarUInt((ulong)r.Ops.Count);
                foreach (var op in r.Ops)
                {
                    w.Byte(OpCode(op.Kind));
                    w.IdHash(op.Key);
                    w.String(op.Owner);
                    w.String(op.To);
                }
                break;
            case IdentityReply r:
                w.VarUInt((ulong)r.Owners.Count);
                foreach (var owner in r.Owners)
                {
                    w.String(owner);
                }
                break;
            case PokeIdentityShard p:
                w.VarInt(p.Shard);
                break;
            default:
                throw new ArgumentException($"{obj.GetType()} has no Siyu wire format", nameof(obj));
        }
        var bytes = w.ToArrayAndReturn();
        WireMetrics.Sent(Manifests[obj.GetType()], bytes.Length);
        return bytes;
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        try
        {
            var r = new WireReader(bytes);
            object message = manifest switch
            {
                "cb1" => ReadBatch(ref r),
                "eo1" => new EventOutcome(r.VarInt(), r.String(), Outcome(r.Byte()), r.NullableString(), r.NullableString()),
                "ac1" => new AbsorbCustomer(r.String(), CustomerSnapshot.Deserialize(r.Bytes())),
                "aa1" => new CustomerAbsorbedReply(r.String(), r.String()),
                "mi1" => new MergeInto(r.String(), r.String()),
                "mr1" => new MergedReply(r.String(), r.String()),
                "ec1" => new EraseCustomer(r.String()),
                "ce1" => new CustomerErased(r.String(), r.Bool()),
                "ea1" => new EraseAbsorbed(r.String(), r.String()),
                "pc1" => new PokeCustomerShard(r.Int32()),
                "sc1" => StopCustomerShard.Instance,
                "gc1" => new GetCustomer(r.String()),
                "st1" => CustomerSnapshot.Deserialize(r.Bytes()),
                "gi1" => new GetIdentity(r.String()),
                "ci1" => ReadIdentity(ref r),
                "wc1" => new WakeCustomer(r.String(), r.Instant()),
                "cw1" => new CustomerWoken(r.String(), r.Instant()),
                "ir1" => ReadIdentityRequest(ref r),
                "iy1" => ReadIdentityReply(ref r),
                "pi1" => new PokeIdentityShard(r.Int32()),
                "si1" => StopIdentityShard.Instance,
                // A SerializationException makes remoting drop the message (and log it) rather
                // than close the connection: a newer node may send what this one cannot read yet.
                _ => throw new SerializationException($"unknown Siyu wire manifest '{manifest}'"),
            };
            r.End();
            WireMetrics.Received(manifest, bytes.Length);
            return message;
        }
        catch (Exception e)
        {
            throw new SerializationException($"cannot read a '{manifest}' message ({bytes.Length} bytes): {e.Message}", e);
        }
    }

    private CustomerBatch ReadBatch(ref WireReader r)
    {
        var shard = r.Int32();
        // ResolveActorRef caches resolved paths (per thread, Akka's own LRU cache).
        var replyTo = system.Provider.ResolveActorRef(r.String());
        var items = new BatchItem[r.Count()];
        for (var i = 0; i < items.Length; i++)
        {
            var ticket = r.VarInt();
            var customerId = r.String();
            var maybeSeen = r.Bool();
            items[i] = new BatchItem(ticket, customerId, InputEventWire.Read(ref r), maybeSeen);
        }
        return new CustomerBatch(shard, replyTo, items);
    }

    private static CustomerIdentity ReadIdentity(ref WireReader r)
    {
        var customerId = r.String();
        var createdAt = r.NullableInstant();
        var mergedInto = r.NullableString();
        var ids = new LinkedId[r.Count()];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = new LinkedId(InputEventWire.ToIdType(r.Byte()), r.String());
        }
        return new CustomerIdentity(customerId, createdAt, mergedInto, EquatableArray.Own(ids), r.Bool());
    }

    private static IdentityRequest ReadIdentityRequest(ref WireReader r)
    {
        var shard = r.Int32();
        var ops = new IdOp[r.Count()];
        for (var i = 0; i < ops.Length; i++)
        {
            ops[i] = new IdOp(Op(r.Byte()), r.IdHash(), r.NullableString(), r.NullableString());
        }
        return new IdentityRequest(shard, ops);
    }

    private static IdentityReply ReadIdentityReply(ref WireReader r)
    {
        var owners = new string?[r.Count()];
        for (var i = 0; i < owners.Length; i++)
        {
            owners[i] = r.NullableString();
        }
        return new IdentityReply(owners);
    }

    private static byte OutcomeCode(OutcomeKind kind) => kind switch
    {
        OutcomeKind.Accepted => 0,
        OutcomeKind.Rejected => 1,
        OutcomeKind.RefundUnmatched => 2,
        OutcomeKind.Failed => 3,
        OutcomeKind.Unknown => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no wire code"),
    };

    private static OutcomeKind Outcome(byte code) => code switch
    {
        0 => OutcomeKind.Accepted,
        1 => OutcomeKind.Rejected,
        2 => OutcomeKind.RefundUnmatched,
        3 => OutcomeKind.Failed,
        4 => OutcomeKind.Unknown,
        _ => throw new SerializationException($"unknown outcome code {code}"),
    };

    private static byte OpCode(IdOpKind kind) => kind switch
    {
        IdOpKind.Lookup => 0,
        IdOpKind.Claim => 1,
        IdOpKind.Repoint => 2,
        IdOpKind.Release => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no wire code"),
    };

    private static IdOpKind Op(byte code) => code switch
    {
        0 => IdOpKind.Lookup,
        1 => IdOpKind.Claim,
        2 => IdOpKind.Repoint,
        3 => IdOpKind.Release,
        _ => throw new SerializationException($"unknown identity op code {code}"),
    };
}
