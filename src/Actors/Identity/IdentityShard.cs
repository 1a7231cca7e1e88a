using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;
using Siyu.Actors.Storage;

namespace Siyu.Actors.Identity;

/// <summary>
/// One shard of the identity index: which customer owns each identifier value whose key hashes
/// here (<see cref="IdentityShards.Of"/>). The owners live in a dictionary loaded lazily from the
/// store (one query for all the keys of the requests that arrived meanwhile); changes go to the
/// store through the node's <see cref="Committer"/>, many requests per transaction. Sharding
/// keeps one live instance per shard in the cluster, so it is the single writer of its keys: the
/// first claim wins, and "not in the store" stays true until this actor writes the key.
/// A request is answered only once every owner it set or read is durable.
/// </summary>
public sealed class IdentityShard : ReceiveActor
{
    private sealed class Commit(long generation)
    {
        public readonly long Generation = generation;
        public readonly List<(IActorRef To, IdentityReply Reply)> Replies = [];
        public readonly List<IdHash> Keys = [];
        public bool Done;
        public Exception? Failure;
    }

    private readonly int _shard;
    private readonly Committer _committer;
    private readonly ResidentIndex _resident;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Null: known to have no owner. Read by lookups on other threads (ResidentIndex).
    private ConcurrentDictionary<IdHash, string?> _owners = new();
    private readonly Dictionary<IdHash, int> _pending = [];   // keys written by commits not yet durable
    private readonly Queue<(IdentityRequest Request, IActorRef Sender)> _waiting = new();
    private readonly LinkedList<Commit> _commits = new();
    private long _generation;
    private bool _loading;
    private bool _stopping;

    public IdentityShard(int shard, Committer committer, ResidentIndex resident)
    {
        _shard = shard;
        _committer = committer;
        _resident = resident;

        Receive<IdentityRequest>(r =>
        {
            _waiting.Enqueue((r, Sender));
            Drain();
        });
        Receive<Loaded>(OnLoaded);
        Receive<LoadFailed>(f =>
        {
            _loading = false;
            _log.Warning(f.Cause, "Loading {0} ids of identity shard {1} failed; the requests waiting for them fail and are retried", f.Keys.Count, _shard);
            while (_waiting.TryDequeue(out var w))
            {
                w.Sender.Tell(new Status.Failure(f.Cause));
            }
        });
        Receive<Committed>(OnCommitted);
        Receive<PokeIdentityShard>(_ => { });
        Receive<StopIdentityShard>(_ =>
        {
            _stopping = true;
            StopWhenSettled();
        });
    }

    public static Props PropsFor(int shard, Committer committer, ResidentIndex resident) =>
        Props.Create(() => new IdentityShard(shard, committer, resident));

    protected override void PreStart() => _resident.Register(_shard, _owners);

    protected override void PostStop() => _resident.Unregister(_shard, _owners);

    // --- requests, in arrival order -------------------------------------------------------------

    private void Drain()
    {
        while (!_loading && _waiting.TryPeek(out var next))
        {
            var missing = Missing(next.Request);
            if (missing.Count > 0)
            {
                // Everything the queued requests miss, in one query.
                foreach (var (request, _) in _waiting)
                {
                    missing.UnionWith(Missing(request));
                }
                _loading = true;
                var keys = missing.ToList();
                _committer.Store.LoadOwnersAsync(keys, CancellationToken.None)
                    .PipeTo(Self, success: rows => new Loaded(keys, rows), failure: e => new LoadFailed(keys, e));
                return;
            }
            _waiting.Dequeue();
            Apply(next.Request, next.Sender);
        }
    }

    private HashSet<IdHash> Missing(IdentityRequest request)
    {
        var missing = new HashSet<IdHash>();
        foreach (var op in request.Ops)
        {
            if (!_owners.ContainsKey(op.Key))
            {
                missing.Add(op.Key);
            }
        }
        return missing;
    }

    private sealed record Loaded(List<IdHash> Keys, IReadOnlyList<OwnerRow> Rows);

    private sealed record LoadFailed(List<IdHash> Keys, Exception Cause);

    private void OnLoaded(Loaded loaded)
    {
        _loading = false;
        foreach (var row in loaded.Rows)
        {
            _owners.TryAdd(row.Key, row.Owner); // a key written since the query started keeps the newer value
        }
        foreach (var key in loaded.Keys)
        {
            _owners.TryAdd(key, null);
        }
        Drain();
    }

    private void Apply(IdentityRequest request, IActorRef sender)
    {
        var owners = new string?[request.Ops.Count];
        List<OwnerRow>? writes = null;
        List<IdHash>? released = null;
        var readsPending = false;
        for (var i = 0; i < request.Ops.Count; i++)
        {
            var op = request.Ops[i];
            var current = _owners[op.Key];
            readsPending |= _pending.ContainsKey(op.Key);
            switch (op.Kind)
            {
                case IdOpKind.Claim when current is null && op.Owner is not null:
                case IdOpKind.Repoint when current is not null && current == op.Owner && op.To is not null:
                    current = op.Kind == IdOpKind.Claim ? op.Owner : op.To;
                    _owners[op.Key] = current;
                    (writes ??= []).Add(new OwnerRow(op.Key, _shard, current!));
                    break;
                case IdOpKind.Release when current is not null && current == op.Owner:
                    current = null;
                    _owners[op.Key] = null;
                    (released ??= []).Add(op.Key);
                    break;
            }
            owners[i] = op.Kind == IdOpKind.Release ? null : current;
        }
        var reply = new IdentityReply(owners);
        if (writes is null && released is null)
        {
            if (!readsPending || _commits.Last is null)
            {
                sender.Tell(reply);
                return;
            }
            // It read an owner that is not durable yet: answer with the commit that writes it
            // (the last one covers every earlier one).
            _commits.Last!.Value.Replies.Add((sender, reply));
            return;
        }
        var commit = new Commit(_generation);
        commit.Replies.Add((sender, reply));
        foreach (var row in (IEnumerable<OwnerRow>?)writes ?? [])
        {
            MarkPending(commit, row.Key);
        }
        foreach (var key in (IEnumerable<IdHash>?)released ?? [])
        {
            MarkPending(commit, key);
        }
        var node = _commits.AddLast(commit);
        _committer.WriteOwnersAsync((IReadOnlyList<OwnerRow>?)writes ?? [], (IReadOnlyList<IdHash>?)released ?? [])
            .PipeTo(Self, success: () => new Committed(node, null), failure: e => new Committed(node, e));
    }

    private void MarkPending(Commit commit, IdHash key)
    {
        commit.Keys.Add(key);
        _pending[key] = _pending.GetValueOrDefault(key) + 1;
    }

    private sealed record Committed(LinkedListNode<Commit> Node, Exception? Failure);

    private void OnCommitted(Committed c)
    {
        c.Node.Value.Done = true;
        c.Node.Value.Failure = c.Failure;
        if (c.Failure is not null && c.Node.Value.Generation == _generation)
        {
            // What this commit wrote is not durable, and later requests may have read it: start
            // over from the store (the truth) and fail everything answered on top of it.
            _log.Warning(c.Failure, "Writing ids of identity shard {0} failed; its requests fail and are retried", _shard);
            _generation++;
            _resident.Unregister(_shard, _owners);
            _owners = new ConcurrentDictionary<IdHash, string?>();
            _resident.Register(_shard, _owners);
            _pending.Clear();
            foreach (var commit in _commits)
            {
                commit.Failure ??= c.Failure;
            }
        }
        // Commits complete in order at the store; answer them in order too.
        while (_commits.First is { Value.Done: true } first)
        {
            _commits.RemoveFirst();
            var commit = first.Value;
            foreach (var key in commit.Keys)
            {
                if (commit.Generation == _generation && _pending.TryGetValue(key, out var n))
                {
                    if (n <= 1)
                    {
                        _pending.Remove(key);
                    }
                    else
                    {
                        _pending[key] = n - 1;
                    }
                }
            }
            foreach (var (to, reply) in commit.Replies)
            {
                to.Tell(commit.Failure is null ? reply : new Status.Failure(commit.Failure));
            }
        }
        if (_stopping)
        {
            StopWhenSettled();
        }
    }

    private void StopWhenSettled()
    {
        if (_commits.Count == 0 && !_loading)
        {
            Context.Stop(Self);
        }
    }
}

/// <summary>
/// The identity shards resident on this node, for lookups that read owners without a message:
/// each shard registers its dictionary while it runs. A key absent here is read from the store.
/// </summary>
public sealed class ResidentIndex
{
    private readonly ConcurrentDictionary<int, ConcurrentDictionary<IdHash, string?>> _shards = new();

    internal void Register(int shard, ConcurrentDictionary<IdHash, string?> owners) => _shards[shard] = owners;

    internal void Unregister(int shard, ConcurrentDictionary<IdHash, string?> owners) =>
        _shards.TryRemove(new KeyValuePair<int, ConcurrentDictionary<IdHash, string?>>(shard, owners));

    /// <summary>True when the shard is resident here and knows the key (owner null: nobody owns it).</summary>
    public bool TryGetOwner(int shard, IdHash key, out string? owner)
    {
        owner = null;
        return _shards.TryGetValue(shard, out var owners) && owners.TryGetValue(key, out owner);
    }

    /// <summary>Keys held in memory on this node (diagnostics, benchmarks).</summary>
    public int Count => _shards.Values.Sum(s => s.Count);
}
