using System.CommandLine;
using System.Text.RegularExpressions;
using Siyu.Host.Api.Security;
using Siyu.Host.Configuration;

namespace Siyu.Host.Commands;

/// <summary>`siyu key new`: makes an API key and prints it once, with the settings that admit it (its hash, never the key).</summary>
public static partial class KeyCommand
{
    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex KeyName();

    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "Who holds the key, e.g. pos-s001 or dpo (letters, digits, _ and -)", Required = true };
        var role = new Option<string>("--role") { Description = "pos (lookup, profile, campaign live) or admin (also erasure and cluster)", Required = true };
        var create = new Command("new", "Make an API key: prints the key once and the settings (with its SHA-256 hash) that admit it") { name, role };
        create.SetAction(parse =>
        {
            var n = parse.GetValue(name)!;
            var r = parse.GetValue(role)!;
            if (!KeyName().IsMatch(n) || !ApiRoles.All.Contains(r))
            {
                Console.Error.WriteLine($"siyu: --name must be 1-64 letters, digits, _ or -, and --role one of {string.Join(", ", ApiRoles.All)}");
                return CommandSupport.ConfigError;
            }
            var key = ApiKeys.Generate();
            Console.WriteLine($"key (give it to {n}; it is shown only now): {key}");
            Console.WriteLine("settings for every node (environment, or the same keys in siyu.json under Api:Keys):");
            Console.WriteLine($"SIYU_Api__Keys__{n}__Role={r}");
            Console.WriteLine($"SIYU_Api__Keys__{n}__Hash={ApiKeys.Hash(key)}");
            Console.WriteLine($"use: curl -H '{ApiKeys.Header}: {key}' http://127.0.0.1:8080/v1/customers/lookup?member_id=M10001");
            return 0;
        });
        return new Command("key", "API keys") { create };
    }
}
