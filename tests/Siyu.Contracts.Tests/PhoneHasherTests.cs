using Siyu.Contracts.Privacy;

namespace Siyu.Contracts.Tests;

public sealed class PhoneHasherTests
{
    private readonly PhoneHasher _hasher = new("test-key-of-at-least-16-bytes");

    [Fact]
    public void The_same_number_in_any_notation_hashes_the_same()
    {
        var h = _hasher.Hash("13800000001");
        Assert.Equal(h, _hasher.Hash("+86 138-0000-0001"));
        Assert.Equal(h, _hasher.Hash("8613800000001"));
        Assert.NotEqual(h, _hasher.Hash("13800000002"));
    }

    [Fact]
    public void The_hash_does_not_contain_the_number_and_depends_on_the_key()
    {
        var h = _hasher.Hash("13800000001");
        Assert.DoesNotContain("13800000001", h);
        Assert.StartsWith(PhoneHasher.Prefix, h);
        Assert.NotEqual(h, new PhoneHasher("another-key-of-16-bytes!").Hash("13800000001"));
    }

    [Fact]
    public void Hashing_a_hash_changes_nothing()
    {
        var h = _hasher.Hash("13800000001");
        Assert.Equal(h, _hasher.Hash(h));
    }

    [Fact]
    public void A_short_key_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new PhoneHasher("short"));
    }
}
