using Siyu.Actors.Customers;

namespace Siyu.Actors.Operations;

/// <summary>
/// An audience (as in Segment's Audiences): a named rule over the profile, evaluated per customer
/// whenever its state or the clock changes what the rule sees. A rule is a conjunction of terms:
/// <code>in_private_domain and frequency=low and state=at_risk|lapsed and not tag.vip=yes</code>
/// Terms: <c>in_private_domain</c>, <c>has_guide</c>, <c>service_due</c>, <c>birthday_soon</c>
/// (flags), and <c>field=value</c> / <c>field!=value</c> with <c>frequency</c> (low|mid|high),
/// <c>state</c> (new|active|at_risk|lapsed), <c>group</c> (a group id the customer is in) and
/// <c>tag.NAME</c>; <c>a|b</c> means either value. <c>not</c> negates one term.
/// </summary>
public sealed record AudienceRule(string Name, string Text, IReadOnlyList<AudienceTerm> Terms)
{
    public static readonly IReadOnlyList<string> Flags = ["in_private_domain", "has_guide", "service_due", "birthday_soon"];
    public static readonly IReadOnlyList<string> Fields = ["frequency", "state", "group", "tag.NAME"];

    /// <summary>Parses <paramref name="text"/>; throws <see cref="FormatException"/> with a message saying what is wrong.</summary>
    public static AudienceRule Parse(string name, string text)
    {
        if (string.IsNullOrWhiteSpace(name) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            throw new FormatException($"audience name '{name}' may only hold letters, digits, '_' and '-'");
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new FormatException("the rule is empty (e.g. 'in_private_domain and state=at_risk')");
        }
        var words = text.Split((char[])[' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
        var terms = new List<AudienceTerm>();
        var i = 0;
        while (true)
        {
            var negate = false;
            if (i < words.Length && words[i].Equals("not", StringComparison.OrdinalIgnoreCase))
            {
                negate = true;
                i++;
            }
            if (i >= words.Length)
            {
                throw new FormatException($"'{text}' ends where a term was expected");
            }
            terms.Add(ParseTerm(words[i++], negate));
            if (i == words.Length)
            {
                break;
            }
            if (!words[i].Equals("and", StringComparison.OrdinalIgnoreCase))
            {
                throw new FormatException($"expected 'and' before '{words[i]}' (rules are terms joined by 'and'; use a|b for either value)");
            }
            i++;
        }
        return new AudienceRule(name, text.Trim(), terms);
    }

    private static AudienceTerm ParseTerm(string word, bool negate)
    {
        var ne = word.IndexOf("!=", StringComparison.Ordinal);
        var eq = word.IndexOf('=');
        if (ne < 0 && eq < 0)
        {
            var flag = word.ToLowerInvariant();
            return Flags.Contains(flag)
                ? new AudienceTerm(flag, [], negate)
                : throw new FormatException($"unknown term '{word}' (flags: {string.Join(", ", Flags)}; fields: {string.Join(", ", Fields)})");
        }
        var split = ne >= 0 ? ne : eq;
        var field = word[..split].ToLowerInvariant();
        var values = word[(split + (ne >= 0 ? 2 : 1))..].Split('|');
        if (values.Any(string.IsNullOrEmpty))
        {
            throw new FormatException($"'{word}' has an empty value");
        }
        string[]? allowed = field switch
        {
            "frequency" => ["low", "mid", "high"],
            "state" => ["new", "active", "at_risk", "lapsed"],
            _ => null,
        };
        if (allowed is not null)
        {
            values = values.Select(v => v.ToLowerInvariant()).ToArray();
            if (values.FirstOrDefault(v => !allowed.Contains(v)) is { } bad)
            {
                throw new FormatException($"'{bad}' is not a {field} (expected {string.Join(", ", allowed)})");
            }
        }
        else if (field != "group" && !(field.StartsWith("tag.", StringComparison.Ordinal) && field.Length > 4))
        {
            throw new FormatException($"unknown field '{field}' (fields: {string.Join(", ", Fields)}; flags: {string.Join(", ", Flags)})");
        }
        else if (field.StartsWith("tag.", StringComparison.Ordinal))
        {
            field = "tag." + word[4..split]; // tag names keep their case
        }
        return new AudienceTerm(field, values, negate ^ (ne >= 0));
    }

    public bool Matches(AudienceFacts facts) => Terms.All(t => t.Matches(facts));
}

/// <summary>One term: a flag (no values) or a field compared with any of <see cref="Values"/>.</summary>
public sealed record AudienceTerm(string Field, IReadOnlyList<string> Values, bool Negated)
{
    public bool Matches(AudienceFacts f)
    {
        var hit = Field switch
        {
            "in_private_domain" => f.State.InPrivateDomain,
            "has_guide" => f.State.OwningGuideId is not null,
            "service_due" => f.ServiceDue,
            "birthday_soon" => f.BirthdaySoon,
            "frequency" => Values.Contains(f.Segment.Frequency.WireName()),
            "state" => Values.Contains(f.Segment.State.WireName()),
            "group" => f.State.ActiveGroups.Any(Values.Contains),
            _ => f.State.Tags.Any(t => "tag." + t.Name == Field && Values.Contains(t.Value)),
        };
        return hit != Negated;
    }
}

/// <summary>What audience rules read: the state and what was derived from it at "now".</summary>
public sealed record AudienceFacts(CustomerState State, Segment Segment, bool ServiceDue, bool BirthdaySoon);
