namespace Siyu.Simulator;

/// <summary>A product of the fruit chain (domain: 百果园): sku, everyday price, and the group price when it is a hot item.</summary>
public sealed record Product(string Sku, string Name, decimal Price, decimal GroupPrice, bool Hot);

/// <summary>What the stores sell. Hot items are the ones solitaires and flash sales are run on.</summary>
public static class Catalog
{
    public static IReadOnlyList<Product> Products { get; } =
    [
        new("CHERRY-5J", "cherries 5 jin", 259.00m, 199.00m, true),
        new("DURIAN-1", "durian, one", 168.00m, 129.00m, true),
        new("MANGO-3J", "mango 3 jin", 59.90m, 39.90m, true),
        new("GRAPE-2J", "shine muscat 2 jin", 79.90m, 59.90m, true),
        new("CITRUS-5J", "citrus 5 jin", 49.90m, 29.90m, true),
        new("KIWI-6", "kiwi, box of 6", 35.90m, 25.90m, true),
        new("APPLE-6", "apples, bag of 6", 29.90m, 29.90m, false),
        new("BANANA-1J", "bananas 1 jin", 6.90m, 6.90m, false),
        new("ORANGE-3J", "oranges 3 jin", 26.90m, 26.90m, false),
        new("PEAR-4", "pears, 4", 19.90m, 19.90m, false),
        new("BERRY-BOX", "blueberries, box", 39.90m, 39.90m, false),
        new("CUT-FRUIT", "cut fruit cup", 15.90m, 15.90m, false),
    ];

    public static IReadOnlyList<Product> Hot { get; } = Products.Where(p => p.Hot).ToArray();
}
