using TorchToNnef.SampleGen;

// Usage: dotnet run --project samples/gen -c Release -- <output directory, e.g. samples/tiny-llama>
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: sample-gen <output-directory>");
    return 2;
}

TinyLlamaSample.Generate(args[0]);
Console.WriteLine($"wrote {Path.Combine(args[0], "config.json")} and {Path.Combine(args[0], "model.safetensors")}");
return 0;
