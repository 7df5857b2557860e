#!/usr/bin/env node
/**
 * `npm run bench:register -- [url] [total] [concurrency]`: drives a running Protobank (monolith or the
 * split edge) with registrations from `concurrency` concurrent clients and prints throughput, latency
 * percentiles and the status counts. A benchmark, not a test: it never fails on a figure.
 * Registration is argon2id-bound (19 MiB, 2 passes per hash), so this measures mostly CPU.
 */
const url = process.argv[2] || 'http://127.0.0.1:3000';
const total = Number(process.argv[3] || 400);
const concurrency = Number(process.argv[4] || 32);
const run = Date.now().toString(36);

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main() {
  let next = 0;
  const latencies = [];
  const statuses = {};
  const client = async () => {
    while (next < total) {
      const i = next++;
      const started = process.hrtime.bigint();
      const res = await fetch(`${url}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: `bench.${run}.${i}@example.com`,
          password: 'correct horse battery staple',
          full_name: 'Bench',
        }),
      });
      await res.arrayBuffer();
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      statuses[res.status] = (statuses[res.status] || 0) + 1;
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (Date.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const ms = (v) => `${v.toFixed(1)} ms`;
  process.stdout.write(
    `registrations: ${total} from ${concurrency} clients against ${url}\n` +
      `throughput:    ${(total / seconds).toFixed(1)}/s over ${seconds.toFixed(2)} s\n` +
      `latency:       p50 ${ms(pct(latencies, 50))}  p95 ${ms(pct(latencies, 95))}  p99 ${ms(pct(latencies, 99))}\n` +
      `statuses:      ${JSON.stringify(statuses)}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`bench:register: ${err.message}\n`);
  process.exit(1);
});
