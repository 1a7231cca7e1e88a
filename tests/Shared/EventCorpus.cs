using System.Text;
using Siyu.Contracts.Events;

namespace Siyu.Tests.Shared;

/// <summary>
/// Inputs shared by the parser tests and the end-to-end dead-letter tests: one valid event of
/// every type on its channel, and a corpus of bad inputs each with the reason it must get.
/// </summary>
public static class EventCorpus
{
    public const string At = "2026-11-23T10:15:00.123+08:00";

    public sealed record Case(string Name, Channel Channel, byte[] Payload, string? ExpectedReason)
    {
        public override string ToString() => Name;
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    // Single quotes keep the JSON readable in C#; no corpus value contains a real quote.
    private static string Q(string s) => s.Replace('\'', '"');

    private static string Env(string id, string type, string ids, string fields = "") =>
        $$"""{"event_id":"{{id}}","type":"{{type}}","occurred_at":"{{At}}","store_id":"S001","ids":{{ids}}{{(fields.Length > 0 ? "," + fields : "")}}}""";

    public static IReadOnlyList<Case> Good { get; } =
    [
        new("pos order", Channel.Pos, B(Env("g-1", "order", Q("{'member_id':'M1','phone':'13800000001'}"), Q("'order_id':'O1','amount':199.00,'items':[{'sku':'CHERRY-5J','qty':1,'price':199.00}],'payment':'wecom_collect','guide_id':'G1','campaign_id':'C1'"))), null),
        new("pos refund", Channel.Pos, B(Env("g-2", "refund", Q("{'member_id':'M1'}"), Q("'order_id':'O1','amount':50"))), null),
        new("mp page_view", Channel.MiniProgram, B(Env("g-3", "page_view", Q("{'openid':'o1'}"), Q("'page':'/home'"))), null),
        new("mp coupon_claim", Channel.MiniProgram, B(Env("g-4", "coupon_claim", Q("{'openid':'o1'}"), Q("'coupon_id':'CP5'"))), null),
        new("mp order with share group", Channel.MiniProgram, B(Env("g-5", "order", Q("{'openid':'o1','unionid':'u1'}"), Q("'order_id':'O2','amount':39.9,'items':[{'sku':'APPLE','qty':3,'price':13.3}],'payment':'wechat_pay','share_group_id':'GR1'"))), null),
        new("mp bind_phone", Channel.MiniProgram, B(Env("g-6", "bind_phone", Q("{'openid':'o1','phone':'+86 138-0000-0001'}"))), null),
        new("app app_open", Channel.App, B(Env("g-7", "app_open", Q("{'device_id':'d1'}"))), null),
        new("app login", Channel.App, B(Env("g-8", "login", Q("{'app_user_id':'a1','member_id':'M1'}"))), null),
        new("group contact_added", Channel.Group, B(Env("g-9", "contact_added", Q("{'external_userid':'wx1'}"), Q("'guide_id':'G1'"))), null),
        new("group contact_removed", Channel.Group, B(Env("g-10", "contact_removed", Q("{'external_userid':'wx1'}"), Q("'guide_id':'G1'"))), null),
        new("group group_join", Channel.Group, B(Env("g-11", "group_join", Q("{'external_userid':'wx1'}"), Q("'group_id':'GR1'"))), null),
        new("group group_leave", Channel.Group, B(Env("g-12", "group_leave", Q("{'external_userid':'wx1'}"), Q("'group_id':'GR1'"))), null),
        new("group message", Channel.Group, B(Env("g-13", "message", Q("{'external_userid':'wx1'}"), Q("'group_id':'GR1'"))), null),
        new("group solitaire_join", Channel.Group, B(Env("g-14", "solitaire_join", Q("{'external_userid':'wx1'}"), Q("'group_id':'GR1','campaign_id':'C2','items':[{'sku':'CHERRY-5J','qty':1,'price':199}]"))), null),
        new("group flash_claim", Channel.Group, B(Env("g-15", "flash_claim", Q("{'external_userid':'wx1'}"), Q("'group_id':'GR1','campaign_id':'C3','sku':'DURIAN'"))), null),
        new("group tag", Channel.Group, B(Env("g-16", "tag", Q("{'external_userid':'wx1'}"), Q("'tags':{'shoe_size':42,'baby_birth_month':'2026-03'}"))), null),
        new("group profile_update", Channel.Group, B(Env("g-17", "profile_update", Q("{'external_userid':'wx1'}"), Q("'birthday':'1990-07-07','name':'Li'"))), null),
        new("group service_done", Channel.Group, B(Env("g-18", "service_done", Q("{'external_userid':'wx1'}"), Q("'guide_id':'G1','task':'3d'"))), null),
        new("group message_sent", Channel.Group, B(Env("g-19", "message_sent", Q("{'external_userid':'wx1'}"), Q("'guide_id':'G1'"))), null),
        new("unknown extra fields are ignored", Channel.Pos, B(Env("g-20", "refund", Q("{'member_id':'M1','loyalty_card':'X'}"), Q("'order_id':'O1','amount':1,'new_field':{'a':[1,2]}"))), null),
        // A UTF-8 byte order mark (Windows tills) is skipped.
        new("UTF-8 byte order mark", Channel.Pos, [0xEF, 0xBB, 0xBF, .. B(Env("g-21", "refund", Q("{'member_id':'M1'}"), Q("'order_id':'O1','amount':1")))], null),
        // A placeholder phone is dropped; the member id still links the event (issue #15).
        new("placeholder phone beside a member id", Channel.Pos, B(Env("g-22", "refund", Q("{'member_id':'M1','phone':'N/A'}"), Q("'order_id':'O1','amount':1"))), null),
    ];

    private static readonly string Ok = Q("{'member_id':'M1'}");
    private static readonly string OrderFields = Q("'order_id':'O1','amount':10,'items':[{'sku':'A','qty':1,'price':10}],'payment':'cash'");

    public static IReadOnlyList<Case> Bad { get; } =
    [
        new("empty payload", Channel.Pos, [], "empty_payload"),
        new("5 MB payload", Channel.Pos, B("{\"event_id\":\"big\",\"pad\":\"" + new string('x', 5 * 1024 * 1024) + "\"}"), "payload_too_large"),
        new("non-UTF-8 bytes", Channel.Pos, [.. B("{\"event_id\":\""), 0xC3, 0x28, 0xFF, .. B("\"}")], "invalid_utf8"),
        new("broken JSON", Channel.Pos, B("{\"event_id\": \"x\", "), "malformed_json"),
        new("not JSON at all", Channel.Pos, B("order,O1,199.00"), "malformed_json"),
        new("trailing garbage", Channel.Pos, B(Env("b-1", "refund", Ok, "\"order_id\":\"O1\",\"amount\":1") + "}"), "malformed_json"),
        new("JSON array", Channel.Pos, B("[1,2,3]"), "not_an_object"),
        new("JSON null", Channel.Pos, B("null"), "not_an_object"),
        new("JSON string", Channel.Pos, B("\"order\""), "not_an_object"),
        new("amount as string", Channel.Pos, B(Env("b-2", "refund", Ok, "\"order_id\":\"O1\",\"amount\":\"199.00\"")), "wrong_field_type"),
        new("event_id as number", Channel.Pos, B("{\"event_id\":123,\"type\":\"refund\"}"), "wrong_field_type"),
        new("ids as array", Channel.Pos, B(Env("b-3", "refund", "[\"M1\"]", "\"order_id\":\"O1\",\"amount\":1")), "wrong_field_type"),
        new("member_id as number", Channel.Pos, B(Env("b-4", "refund", "{\"member_id\":10001}", "\"order_id\":\"O1\",\"amount\":1")), "wrong_field_type"),
        new("missing event_id", Channel.Pos, B("{\"type\":\"refund\",\"occurred_at\":\"" + At + "\",\"ids\":" + Ok + ",\"order_id\":\"O1\",\"amount\":1}"), "missing_event_id"),
        new("blank event_id", Channel.Pos, B(Env("  ", "refund", Ok, "\"order_id\":\"O1\",\"amount\":1")), "missing_event_id"),
        new("event_id too long", Channel.Pos, B(Env(new string('e', 300), "refund", Ok, "\"order_id\":\"O1\",\"amount\":1")), "invalid_event_id"),
        new("missing type", Channel.Pos, B("{\"event_id\":\"b-5\",\"occurred_at\":\"" + At + "\",\"ids\":" + Ok + "}"), "missing_type"),
        new("unknown type", Channel.Pos, B(Env("b-6", "teleport", Ok)), "unknown_type"),
        new("type of another channel", Channel.Pos, B(Env("b-7", "group_join", Ok, "\"group_id\":\"GR1\"")), "unknown_type"),
        new("missing occurred_at", Channel.Pos, B("{\"event_id\":\"b-8\",\"type\":\"refund\",\"ids\":" + Ok + ",\"order_id\":\"O1\",\"amount\":1}"), "missing_occurred_at"),
        new("occurred_at without offset", Channel.Pos, B(Env("b-9", "refund", Ok, "\"order_id\":\"O1\",\"amount\":1").Replace(At, "2026-11-23T10:15:00")), "invalid_occurred_at"),
        new("occurred_at not a date", Channel.Pos, B(Env("b-10", "refund", Ok, "\"order_id\":\"O1\",\"amount\":1").Replace(At, "yesterday")), "invalid_occurred_at"),
        new("occurred_at month 13", Channel.Pos, B(Env("b-11", "refund", Ok, "\"order_id\":\"O1\",\"amount\":1").Replace(At, "2026-13-01T00:00:00Z")), "invalid_occurred_at"),
        new("occurred_at in 1970", Channel.Pos, B(Env("b-12", "refund", Ok, "\"order_id\":\"O1\",\"amount\":1").Replace(At, "1970-01-01T00:00:00Z")), "occurred_at_out_of_range"),
        new("occurred_at in 2099", Channel.Pos, B(Env("b-13", "refund", Ok, "\"order_id\":\"O1\",\"amount\":1").Replace(At, "2099-01-01T00:00:00+08:00")), "occurred_at_out_of_range"),
        new("missing ids", Channel.Pos, B("{\"event_id\":\"b-14\",\"type\":\"refund\",\"occurred_at\":\"" + At + "\",\"order_id\":\"O1\",\"amount\":1}"), "missing_ids"),
        new("empty ids", Channel.Pos, B(Env("b-15", "refund", "{}", "\"order_id\":\"O1\",\"amount\":1")), "missing_ids"),
        new("only blank ids", Channel.Pos, B(Env("b-16", "refund", "{\"member_id\":\"\",\"phone\":\"  \"}", "\"order_id\":\"O1\",\"amount\":1")), "missing_ids"),
        new("only unknown id types", Channel.Pos, B(Env("b-17", "refund", "{\"passport\":\"X1\"}", "\"order_id\":\"O1\",\"amount\":1")), "missing_ids"),
        new("id too long", Channel.Pos, B(Env("b-18", "refund", "{\"device_id\":\"" + new string('d', 500) + "\"}", "\"order_id\":\"O1\",\"amount\":1")), "invalid_id"),
        new("negative amount", Channel.Pos, B(Env("b-19", "order", Ok, OrderFields.Replace("\"amount\":10", "\"amount\":-10"))), "negative_amount"),
        new("negative refund", Channel.Pos, B(Env("b-20", "refund", Ok, "\"order_id\":\"O1\",\"amount\":-5")), "negative_amount"),
        new("amount with 3 decimals", Channel.Pos, B(Env("b-21", "order", Ok, OrderFields.Replace("\"amount\":10", "\"amount\":10.005"))), "invalid_amount"),
        new("absurd amount", Channel.Pos, B(Env("b-22", "order", Ok, OrderFields.Replace("\"amount\":10", "\"amount\":1e12"))), "invalid_amount"),
        new("order without order_id", Channel.Pos, B(Env("b-23", "order", Ok, "\"amount\":10,\"items\":[{\"sku\":\"A\",\"qty\":1,\"price\":10}],\"payment\":\"cash\"")), "missing_field"),
        new("order without amount", Channel.Pos, B(Env("b-24", "order", Ok, "\"order_id\":\"O1\",\"items\":[{\"sku\":\"A\",\"qty\":1,\"price\":10}],\"payment\":\"cash\"")), "missing_field"),
        new("order without items", Channel.Pos, B(Env("b-25", "order", Ok, "\"order_id\":\"O1\",\"amount\":10,\"payment\":\"cash\"")), "missing_field"),
        new("item with zero qty", Channel.Pos, B(Env("b-26", "order", Ok, OrderFields.Replace("\"qty\":1", "\"qty\":0"))), "invalid_items"),
        new("item qty as float", Channel.Pos, B(Env("b-27", "order", Ok, OrderFields.Replace("\"qty\":1", "\"qty\":1.5"))), "wrong_field_type"),
        new("unknown payment", Channel.Pos, B(Env("b-28", "order", Ok, OrderFields.Replace("cash", "bitcoin"))), "invalid_payment"),
        new("group_join without group_id", Channel.Group, B(Env("b-29", "group_join", Ok)), "missing_field"),
        new("flash_claim without sku", Channel.Group, B(Env("b-30", "flash_claim", Ok, "\"group_id\":\"GR1\",\"campaign_id\":\"C3\"")), "missing_field"),
        new("tag with object value", Channel.Group, B(Env("b-31", "tag", Ok, "\"tags\":{\"size\":{\"eu\":42}}")), "wrong_field_type"),
        new("birthday not a date", Channel.Group, B(Env("b-32", "profile_update", Ok, "\"birthday\":\"July 7th\"")), "invalid_field"),
        new("bind_phone without phone", Channel.MiniProgram, B(Env("b-33", "bind_phone", "{\"openid\":\"o1\"}")), "missing_ids"),
        new("login without app_user_id", Channel.App, B(Env("b-34", "login", Ok)), "missing_ids"),
        new("deeply nested JSON", Channel.Pos, B(new string('[', 5000) + new string(']', 5000)), "malformed_json"),
        // The strict boundary (issue #15): a key given twice anywhere, amounts out of any range,
        // a lone byte order mark, ids that are all placeholders or impossible phones.
        new("amount given twice", Channel.Pos, B(Env("b-35", "refund", Ok, "\"order_id\":\"O1\",\"amount\":10.0,\"amount\":-99999.0")), "duplicate_key"),
        new("member_id given twice", Channel.Pos, B(Env("b-36", "refund", "{\"member_id\":\"M1\",\"member_id\":\"M2\"}", "\"order_id\":\"O1\",\"amount\":1")), "duplicate_key"),
        new("sku given twice in an item", Channel.Pos, B(Env("b-37", "order", Ok, OrderFields.Replace("\"sku\":\"A\"", "\"sku\":\"A\",\"sku\":\"B\""))), "duplicate_key"),
        new("tag given twice", Channel.Group, B(Env("b-38", "tag", Ok, "\"tags\":{\"size\":42,\"size\":43}")), "duplicate_key"),
        new("unknown field given twice", Channel.Pos, B(Env("b-39", "refund", Ok, "\"order_id\":\"O1\",\"amount\":1,\"note\":\"a\",\"note\":\"b\"")), "duplicate_key"),
        new("key twice inside an unknown object", Channel.Pos, B(Env("b-40", "refund", Ok, "\"order_id\":\"O1\",\"amount\":1,\"extra\":[{\"a\":1,\"a\":2}]")), "duplicate_key"),
        new("event_id given twice", Channel.Pos, B("{\"event_id\":\"b-41\",\"event_id\":\"b-41b\",\"type\":\"refund\",\"occurred_at\":\"" + At + "\",\"ids\":" + Ok + ",\"order_id\":\"O1\",\"amount\":1}"), "duplicate_key"),
        new("only a byte order mark", Channel.Pos, [0xEF, 0xBB, 0xBF], "empty_payload"),
        new("amount 1e30", Channel.Pos, B(Env("b-42", "order", Ok, OrderFields.Replace("\"amount\":10", "\"amount\":1e30"))), "invalid_amount"),
        new("amount -1e30", Channel.Pos, B(Env("b-43", "refund", Ok, "\"order_id\":\"O1\",\"amount\":-1e30")), "invalid_amount"),
        new("price 1e30", Channel.Pos, B(Env("b-44", "order", Ok, OrderFields.Replace("\"price\":10", "\"price\":1e30"))), "invalid_items"),
        new("qty beyond any count", Channel.Pos, B(Env("b-45", "order", Ok, OrderFields.Replace("\"qty\":1", "\"qty\":1e10"))), "wrong_field_type"),
        new("only a placeholder phone", Channel.Pos, B(Env("b-46", "refund", Q("{'phone':'N/A'}"), "\"order_id\":\"O1\",\"amount\":1")), "no_usable_ids"),
        new("only placeholders", Channel.Pos, B(Env("b-47", "refund", Q("{'phone':'-','member_id':'null','openid':'undefined'}"), "\"order_id\":\"O1\",\"amount\":1")), "no_usable_ids"),
        new("a phone that is no number", Channel.Pos, B(Env("b-48", "refund", Q("{'phone':'10086'}"), "\"order_id\":\"O1\",\"amount\":1")), "no_usable_ids"),
        new("an advertising id switched off", Channel.App, B(Env("b-49", "app_open", Q("{'device_id':'00000000-0000-0000-0000-000000000000'}"))), "no_usable_ids"),
        new("half a surrogate pair in an unknown key", Channel.Pos, B(Env("b-51", "refund", Ok, "\"order_id\":\"O1\",\"amount\":1,\"\\ud800\":1")), "malformed_json"),
        new("half a surrogate pair in a value", Channel.Pos, B(Env("b-52", "refund", Ok, "\"order_id\":\"O\\ud800\",\"amount\":1")), "malformed_json"),
        new("bind_phone with a placeholder phone", Channel.MiniProgram, B(Env("b-50", "bind_phone", Q("{'openid':'o1','phone':'unknown'}"))), "missing_ids"),
    ];
}
