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
        "keep reading the old one, and keep its golden file; the test then writes the new version's golden file for you to commit.";

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

    [Fact]
    public void The_persisted_customer_state_is_written_exactly_as_its_golden_file()
    {
        var name = $"snapshot-{CustomerSnapshot.CurrentFormat}.json";
        var bytes = CustomerSnapshot.Serialize(WireSamples.State());
        var golden = Golden.Read(name);
        if (golden is null)
        {
            Golden.Create(name, bytes);
            return;
        }
        Assert.True(golden.AsSpan().SequenceEqual(bytes),
            $"The persisted customer state (CustomerSnapshot format {CustomerSnapshot.CurrentFormat}) changed shape.\n" +
            $"golden: {Encoding.UTF8.GetString(golden)}\nnow:    {Encoding.UTF8.GetString(bytes)}\n{NewVersion}");
    }

    [Fact]
    public void Every_golden_snapshot_still_reads()
    {
        var files = Directory.GetFiles(Golden.OutputFolder, "snapshot-*.json");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var state = CustomerSnapshot.Deserialize(File.ReadAllBytes(file));
            // Every golden snapshot is of the same sample customer (a later format adds, never loses).
            Assert.Equal(WireSamples.State(), state);
        }
    }

    [Fact]
    public void The_samples_fill_every_optional_part()
    {
        // A part left empty in the sample would not be guarded by the golden files.
        var state = WireSamples.State();
        Assert.All(typeof(CustomerState).GetProperties().Where(p => p.CanWrite), p =>
        {
            var value = p.GetValue(state);
            var isDefault = value is null || (p.PropertyType.IsValueType && value.Equals(Activator.CreateInstance(p.PropertyType)));
            // MergedInto and HandOverPending belong to a merged customer, whose other fields are cleared.
            Assert.True(!isDefault || p.Name is nameof(CustomerState.MergedInto) or nameof(CustomerState.HandOverPending), $"the sample state leaves {p.Name} empty");
        });
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
