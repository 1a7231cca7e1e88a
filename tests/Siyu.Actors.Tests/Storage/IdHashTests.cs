using System.Security.Cryptography;
using System.Text;
using Siyu.Actors.Storage;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Storage;

/// <summary>The id index key is persisted: its bytes must never change (and must match the old IdentityEntity ids).</summary>
public sealed class IdHashTests
{
    [Fact]
    public void The_key_is_the_first_16_bytes_of_sha256_of_type_colon_value()
    {
        // Golden vector: sha256("member_id:M1") = f780405af58de0c8cde4971a193266a48afd279f...
        var key = IdHash.Of("member_id", "M1");
        Assert.Equal("f780405af58de0c8cde4971a193266a4", key.ToString());
        Assert.Equal(0xf780405af58de0c8UL, key.Hi);
        Assert.Equal(0xcde4971a193266a4UL, key.Lo);
        Assert.Equal(Convert.FromHexString("f780405af58de0c8cde4971a193266a4"), key.ToArray());
        Assert.Equal(key, IdHash.Of(IdType.MemberId, "M1"));
    }

    [Fact]
    public void The_key_is_a_prefix_of_the_old_identity_entity_persistence_id_and_reads_back_from_it()
    {
        foreach (var (type, value) in new[] { ("phone", "h1:abc"), ("openid", "o-\u5fae\u4fe1"), ("device_id", new string('d', 2_000)) })
        {
            var oldPersistenceId = "id-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{type}:{value}")))[..40];
            var key = IdHash.Of(type, value);
            Assert.StartsWith("id-" + key, oldPersistenceId, StringComparison.Ordinal);
            Assert.Equal(key, IdHash.ParseHex(oldPersistenceId.AsSpan(3)));
            Assert.Equal(key, IdHash.FromBytes(key.ToArray()));
        }
    }

    [Fact]
    public void Different_types_of_the_same_value_are_different_keys()
    {
        Assert.NotEqual(IdHash.Of("member_id", "X1"), IdHash.Of("openid", "X1"));
        Assert.Throws<ArgumentException>(() => IdHash.FromBytes(new byte[15]));
        Assert.Throws<FormatException>(() => IdHash.ParseHex("abc"));
    }
}
