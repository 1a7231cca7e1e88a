using Siyu.Contracts.Events;
using Siyu.Contracts.Identity;
using Siyu.Contracts.Privacy;
using Siyu.Tests.Shared;

namespace Siyu.Contracts.Tests;

public sealed class IdValuesTests
{
    private static readonly IdValues Ids = new();

    public static TheoryData<string> Junk() => [.. JunkIds.AnyType];

    [Theory]
    [MemberData(nameof(Junk))]
    public void A_placeholder_is_refused_for_every_id_type(string junk)
    {
        foreach (var type in Enum.GetValues<IdType>())
        {
            var check = Ids.Check(type, junk);
            Assert.False(check.IsUsable, $"{type.WireName()} '{junk}' was taken as {check.Value}");
            Assert.Equal(type, check.Refused!.Value.Type);
        }
    }

    [Fact]
    public void There_are_at_least_thirty_junk_values()
    {
        Assert.True(JunkIds.AnyType.Count + JunkIds.PhoneOnly.Count >= 30);
    }

    [Theory]
    [InlineData("10086")]
    [InlineData("95588")]
    [InlineData("13800")]
    [InlineData("+86")]
    [InlineData("phone")]
    [InlineData("1380000")]
    [InlineData("+86 138 0000")]
    public void A_phone_that_is_not_a_valid_number_is_refused_without_repeating_it(string phone)
    {
        var refused = Ids.Check(IdType.Phone, phone).Refused!.Value;
        Assert.Equal(IdValueRefusal.InvalidPhone, refused.Reason);
        Assert.Null(refused.Value);
        Assert.Equal("ids.phone is not a valid phone number", refused.Describe());
    }

    [Theory]
    [InlineData(IdType.MemberId, "M10001")]
    [InlineData(IdType.MemberId, "0012345")]
    [InlineData(IdType.OpenId, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")]
    [InlineData(IdType.UnionId, "o6_bmasdasdsad6_2sgVt7hMZOPfL")]
    [InlineData(IdType.ExternalUserId, "wmqfasd1e1927831291723123109rAAA")]
    [InlineData(IdType.AppUserId, "a1")]
    [InlineData(IdType.DeviceId, "d1")]
    [InlineData(IdType.DeviceId, "6D92078A-8246-4BA4-AE5B-76104861E7DC")]
    [InlineData(IdType.MemberId, "NAOMI")]
    [InlineData(IdType.MemberId, "M-none")]
    public void Real_ids_pass_trimmed_and_unchanged(IdType type, string id)
    {
        Assert.Equal(id, Ids.Check(type, "  " + id + " ").Value);
    }

    [Theory]
    [InlineData("13800000001")]
    [InlineData("+86 138-0000-0001")]
    [InlineData("8613800000001")]
    [InlineData("+8613800000001")]
    [InlineData("138 0000 0001")]
    [InlineData("(138) 0000-0001")]
    [InlineData("１３８０００００００１")]
    public void A_mainland_mobile_in_any_notation_is_one_canonical_number(string phone)
    {
        Assert.Equal("13800000001", Ids.Check(IdType.Phone, phone).Value);
    }

    [Fact]
    public void Numbers_of_other_countries_keep_their_country_code_and_landlines_lose_the_trunk_zero()
    {
        Assert.Equal("16502530000", Ids.Check(IdType.Phone, "+1 650 253 0000").Value);
        Assert.Equal("85291234567", Ids.Check(IdType.Phone, "+852 9123 4567").Value);
        Assert.Equal("2162345678", Ids.Check(IdType.Phone, "021-6234-5678").Value);
        Assert.Equal(Ids.Check(IdType.Phone, "021-6234-5678").Value, Ids.Check(IdType.Phone, "+86 21 6234 5678").Value);
    }

    [Fact]
    public void A_phone_hashed_already_stays_as_it_is()
    {
        var hash = new PhoneHasher("test-key-of-at-least-16-bytes").Hash("13800000001");
        Assert.Equal(hash, Ids.Check(IdType.Phone, hash).Value);
    }

    [Theory]
    [InlineData("13012345678")]
    [InlineData("13912345678")]
    [InlineData("15012345678")]
    [InlineData("17712345678")]
    [InlineData("18612345678")]
    [InlineData("19912345678")]
    public void Numbers_of_mainland_mobile_ranges_are_taken(string phone)
    {
        Assert.Equal(phone, Ids.Check(IdType.Phone, phone).Value);
    }

    [Fact]
    public void Values_from_settings_are_refused_too_after_folding()
    {
        var brand = new IdValues("CN", ["WALK-IN-CUSTOMER", "会员卡未带"]);
        Assert.False(brand.Check(IdType.MemberId, " walk-in-customer ").IsUsable);
        Assert.False(brand.Check(IdType.MemberId, "会员卡未带").IsUsable);
        Assert.True(Ids.Check(IdType.MemberId, "WALK-IN-CUSTOMER").IsUsable);
    }

    [Fact]
    public void Cleaning_keeps_the_usable_ids_and_lists_the_refused()
    {
        var (ids, refused) = Ids.Clean(new CustomerIds { MemberId = "M1", Phone = "N/A", OpenId = "undefined", DeviceId = "d-1" });
        Assert.Equal(new CustomerIds { MemberId = "M1", DeviceId = "d-1" }, ids);
        Assert.Equal([(IdType.Phone, "N/A"), (IdType.OpenId, "undefined")], refused.Select(r => (r.Type, r.Value!)));
    }

    [Fact]
    public void An_unknown_region_is_refused()
    {
        Assert.False(IdValues.IsKnownRegion("XX"));
        Assert.True(IdValues.IsKnownRegion("cn"));
        Assert.Throws<ArgumentException>(() => new IdValues("XX"));
    }
}
