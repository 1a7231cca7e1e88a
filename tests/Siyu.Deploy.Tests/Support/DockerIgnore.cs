using System.Text;
using System.Text.RegularExpressions;

namespace Siyu.Deploy.Tests.Support;

/// <summary>
/// .dockerignore semantics: patterns are relative to the context root (a leading "/" or "./" is
/// dropped), "**" spans any number of folders, later "!" patterns re-include, and excluding a folder
/// excludes everything under it.
/// </summary>
internal sealed class DockerIgnore
{
    public const string FileName = ".dockerignore";

    private readonly List<(Regex Pattern, bool Exclude, string Text)> _rules = [];

    private DockerIgnore(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var exclude = !line.StartsWith('!');
            var pattern = (exclude ? line : line[1..]).Trim().TrimStart('/');
            if (pattern.StartsWith("./", StringComparison.Ordinal))
            {
                pattern = pattern[2..];
            }

            pattern = pattern.TrimEnd('/');
            _rules.Add((new Regex("^" + ToRegex(pattern) + "$", RegexOptions.CultureInvariant), exclude, line));
        }
    }

    public static DockerIgnore Load() => new(Repo.Read(FileName));

    public bool IsExcluded(string relativePath)
    {
        var segments = relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var excluded = false;
        foreach (var (pattern, exclude, _) in _rules)
        {
            // The path itself or any folder above it matching the pattern.
            for (var take = 1; take <= segments.Length; take++)
            {
                if (pattern.IsMatch(string.Join('/', segments.Take(take))))
                {
                    excluded = exclude;
                    break;
                }
            }
        }

        return excluded;
    }

    private static string ToRegex(string glob)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                // "**/" matches zero or more folders; a trailing "**" matches everything below.
                if (i + 2 < glob.Length && glob[i + 2] == '/')
                {
                    sb.Append("(?:.*/)?");
                    i += 2;
                }
                else
                {
                    sb.Append(".*");
                    i += 1;
                }
            }
            else if (c == '*')
            {
                sb.Append("[^/]*");
            }
            else if (c == '?')
            {
                sb.Append("[^/]");
            }
            else
            {
                sb.Append(Regex.Escape(c.ToString()));
            }
        }

        return sb.ToString();
    }
}
