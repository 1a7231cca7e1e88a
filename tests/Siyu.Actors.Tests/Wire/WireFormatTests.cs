using System.Text;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Wire;

namespace Siyu.Actors.Tests.Wire;

/// <summary>
/// Golden files: the bytes and manifest of one sample of every wire message (<c>{manifest}.bin</c>)
/// and of the persisted customer state (<c>snapshot-{format}.json</c>). Another node, or the
/// database, holds bytes in these formats: a change to one must be a new version beside the old,
/// never an edit of it. So the samples must still serialize to exactly these bytes, and every
/// golden file ever checked in must still read.
/// </summary>
public sealed class WireFormatTests(NodeSystemFixture node) : IClassFixture<NodeSystemFixture>
{
    private const string NewVersion =
        "Bytes of this format are on other nodes (a rolling upgrade) or in the database. Do not change a format in place: " +
        "add a new version (a new manifest in SiyuSerializer, e.g. 'cb2', or a new CustomerSnapshot format), write that, " +
        "keep reading the old one, and keep its golden file; the test then writes the new version's golden file for you to commit. " +
        "(The snapshot's JSON alone may take an optional member that older code ignores and that is omitted when empty into " +
        "the current format: the old golden must then still be written and read unchanged; add a sample that fills the " +
        "member to WireSamples.Snapshots().)";

    public static TheoryData<string> Manifests() => new(SiyuSerializer.Manifests.Values.Order(StringComparer.Ordinal));

    private SiyuSerializer Serializer => (SiyuSerializer)node.System.Serialization.FindSerializerForType(typeof(CustomerBatch));

    private object Sample(string manifest) => WireSamples.Messages(node.System).Single(s => s.Manifest == manifest).Message;

    [Theory]
    [MemberData(nameof(Manifests))]
    public void A_message_is_written_exactly_as_its_golden_file(string manifest)
    {
        var sample = Sample(manifest);
        Assert.True(manifest == Serializer.Manifest(sample), $"{sample.GetType().Name} is now written with manifest '{Serializer.Manifest(sample)}', its golden file is '{manifest}'. {NewVersion}");
        var bytes = Serializer.ToBinary(sample);
        var golden = Golden.Read(manifest + ".bin");
        if (golden is null)
        {
            Golden.Create(manifest + ".bin", bytes);
            return;
        }
        Assert.True(golden.AsSpan().SequenceEqual(bytes),
            $"The wire format '{manifest}' ({sample.GetType().Name}) changed: {bytes.Length} bytes now, the golden file has {golden.Length}, first difference at byte {FirstDifference(golden, bytes)}. {NewVersion}");
    }

    [Fact]
    public void Every_golden_message_file_still_reads()
    {
        var files = Directory.GetFiles(Golden.OutputFolder, "*.bin");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var manifest = Path.GetFileNameWithoutExtension(file);
            var golden = File.ReadAllBytes(file);
            var read = Serializer.FromBinary(golden, manifest);
            if (SiyuSerializer.Manifests.TryGetValue(read.GetType(), out var current) && current == manifest)
            {
                // Still the current format: it reads back as the sample, and writes the same bytes.
                Assert.Equal(Dump.Of(Sample(manifest)), Dump.Of(read));
                Assert.Equal(golden, Serializer.ToBinary(read));
            }
        }
    }

    [Fact]
    public void Every_manifest_has_its_golden_file()
    {
        var missing = SiyuSerializer.Manifests.Values.Where(m => Golden.Read(m + ".bin") is null).ToList();
        Assert.True(missing.Count == 0, $"no golden file for {string.Join(", ", missing)} (the theory above writes one when it runs)");
    }

    /// <summary>
    /// The golden snapshots of the current format, each with the sample it holds: the first is the
    /// format as it was defined; a later optional member that older code ignores and that is
    /// omitted when empty may join the same format, with a golden of a sample that fills it.
    /// </summary>
    public static TheoryData<string> CurrentSnapshots() => new(WireSamples.Snapshots().Select(s => s.File));

    [Theory]
    [MemberData(nameof(CurrentSnapshots))]
    public void The_persisted_customer_state_is_written_exactly_as_its_golden_file(string file)
    {
        var bytes = CustomerSnapshot.Serialize(WireSamples.Snapshots().Single(s => s.File == file).State);
        var golden = Golden.Read(file);
        if (golden is null)
        {
            Golden.Create(file, bytes);
            return;
        }
        Assert.True(golden.AsSpan().SequenceEqual(bytes),
            $"The persisted customer state (CustomerSnapshot format {CustomerSnapshot.CurrentFormat}, {file}) changed shape.\n" +
            $"golden: {Encoding.UTF8.GetString(golden)}\nnow:    {Encoding.UTF8.GetString(bytes)}\n{NewVersion}");
    }

    [Fact]
    public void Every_golden_snapshot_still_reads()
    {
        var files = Directory.GetFiles(Golden.OutputFolder, "snapshot-*.json");
        Assert.NotEmpty(files);
        var current = WireSamples.Snapshots().ToDictionary(s => s.File, s => s.State);
        foreach (var file in files)
        {
            var state = CustomerSnapshot.Deserialize(File.ReadAllBytes(file));
            // One of the current format reads back as its sample exactly; an older one must still
            // read (a later format may add what the sample now fills).
            if (current.TryGetValue(Path.GetFileName(file), out var sample))
            {
                Assert.Equal(sample, state);
            }
            else
            {
                Assert.Equal(WireSamples.State().CustomerId, state.CustomerId);
            }
        }
        Assert.All(current.Keys, f => Assert.Contains(f, files.Select(Path.GetFileName)));
    }

    [Fact]
    public void The_samples_fill_every_optional_part()
    {
        // A part left empty in every sample would not be guarded by the golden files. Members added
        // to the current format since it was defined are filled by the later samples (Snapshots()).
        var state = WireSamples.State();
        var samples = WireSamples.Snapshots().Select(s => s.State).ToList();
        Assert.All(typeof(CustomerState).GetProperties().Where(p => p.CanWrite), p =>
        {
            static bool IsDefault(object? value, Type type) => value is null || (type.IsValueType && value.Equals(Activator.CreateInstance(type)));
            var isDefault = samples.TrueForAll(s => IsDefault(p.GetValue(s), p.PropertyType));
            // MergedInto and HandOverPending belong to a merged customer, whose other fields are cleared.
            Assert.True(!isDefault || p.Name is nameof(CustomerState.MergedInto) or nameof(CustomerState.HandOverPending), $"the sample states leave {p.Name} empty");
        });
        var change = samples.SelectMany(s => s.ChangeOutbox).Single(c => c.Change == ProfileChanges.SegmentChanged);
        Assert.All(change.GetType().GetProperties().Where(p => p.Name is not (nameof(ProfileChange.MergedFrom) or nameof(ProfileChange.NoticeId)
            or nameof(ProfileChange.Task) or nameof(ProfileChange.OrderId) or nameof(ProfileChange.DueAt) or nameof(ProfileChange.GuideId)
            or nameof(ProfileChange.State) or nameof(ProfileChange.PreviousState) or nameof(ProfileChange.Date) or nameof(ProfileChange.DaysBefore))),
            p => Assert.NotNull(p.GetValue(change)));
        var notice = state.Ops.Outbox[0];
        Assert.All(notice.GetType().GetProperties(), p => Assert.NotNull(p.GetValue(notice)));
    }

    private static int FirstDifference(byte[] a, byte[] b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }
        return n;
    }
}
