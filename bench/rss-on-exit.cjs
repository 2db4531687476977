// Preloaded into a benchmarked CLI process (node -r): prints its peak resident memory on exit, for bench/flux.ts.
process.on('exit', () => process.stderr.write(`\nZIPLORA_BENCH_MAX_RSS_KIB=${process.resourceUsage().maxRSS}\n`));
