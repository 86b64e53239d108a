/**
 * The floor under an APPEND on Garage: what one request costs the host itself (not a test: run it
 * by hand and read the numbers).
 *
 *   [BENCH_GARAGE_DB=sqlite] node --import tsx bench/measureGarageLatency.ts [rounds=200] [bodyBytes=51200]
 *
 * Starts a one-node Garage and times, one after another through this project's own clients
 * (keep-alive as they set it): K2V InsertItem of an op-row-sized value, K2V InsertItem of a
 * meta-sized value, K2V ReadItem, S3 PutObject of a body, and the three writes of an APPEND at once
 * (body PUT + two K2V inserts), which is what an acknowledgement waits for, and the same with the
 * two rows in one InsertBatch. Each is also timed
 * behind bench/delayProxy.ts at 0 ms, as the bench's `garage` target meets them. Beside each
 * latency: the CPU time per call of the Garage daemon and of this process (bench/procCpu.ts).
 */
import { randomBytes } from "node:crypto";
import { openGarageStore } from "../src/storage/garage/index.ts";
import type { Store } from "../src/storage/types.ts";
import { startGarage } from "../test/support/garage.ts";
import { startDelayProxy, type DelayProxy } from "./delayProxy.ts";
import { cpuMsOf, garageChildren, loadAverage } from "./procCpu.ts";
import { benchGarageDbEngine } from "./targets.ts";

const rounds = Number(process.argv[2] ?? 200);
const bodyBytes = Number(process.argv[3] ?? 51_200);

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)]!;

let garagePids: number[] = [];

async function timeEach(label: string, run: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 5; i++) await run(-1 - i); // warm the connections
  const ms: number[] = [];
  const garage0 = await cpuMsOf(garagePids);
  const own0 = process.cpuUsage();
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await run(i);
    ms.push(performance.now() - t0);
  }
  const garageMs = (await cpuMsOf(garagePids)) - garage0;
  const own = process.cpuUsage(own0);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  console.log(
    `  ${label.padEnd(44)} median ${quantile(ms, 0.5).toFixed(2)} ms, p90 ${quantile(ms, 0.9).toFixed(2)} ms, mean ${mean.toFixed(2)} ms;` +
      ` CPU per call: Garage ${(garageMs / rounds).toFixed(2)} ms, this process ${((own.user + own.system) / 1000 / rounds).toFixed(2)} ms`,
  );
}

async function measure(store: Store, tag: string): Promise<void> {
  const opRow = randomBytes(512);
  const meta = randomBytes(4096);
  const body = randomBytes(bodyBytes);
  const k = (i: number) => `${tag}-${i}-${randomBytes(4).toString("hex")}`;
  await timeEach("K2V InsertItem, 512 B", (i) => store.rows.insert(`index/${tag}`, k(i), opRow));
  await timeEach("K2V InsertItem, 4 KiB", (i) => store.rows.insert(`meta-${tag}`, k(i), meta));
  await store.rows.insert(`probe-${tag}`, "one", meta);
  await timeEach("K2V ReadItem, 4 KiB", () => store.rows.read(`probe-${tag}`, "one"));
  await timeEach(`S3 PutObject, ${bodyBytes} B`, (i) => store.blobs.put(`mail/${k(i)}`, body));
  await timeEach("APPEND's three at once (PUT + 2 inserts)", (i) =>
    Promise.all([
      store.blobs.put(`mail/${k(i)}`, body),
      store.rows.insert(`meta-${tag}`, k(i), meta),
      store.rows.insert(`index/${tag}`, k(i), opRow),
    ]),
  );
  await timeEach("PUT + one InsertBatch of meta and op row", (i) =>
    Promise.all([
      store.blobs.put(`mail/${k(i)}`, body),
      store.rows.insertBatch([
        { pk: `meta-${tag}`, sk: k(i), value: meta },
        { pk: `index/${tag}`, sk: k(i), value: opRow },
      ]),
    ]),
  );
  // What an APPEND would cost with its body in its meta row (no S3 object): one request.
  const metaWithBody = randomBytes(meta.length + bodyBytes);
  await timeEach(`one InsertBatch, meta with the ${bodyBytes} B body + op row`, (i) =>
    store.rows.insertBatch([
      { pk: `meta-${tag}`, sk: k(i), value: metaWithBody },
      { pk: `index/${tag}`, sk: k(i), value: opRow },
    ]),
  );
}

const dbEngine = benchGarageDbEngine();
const garage = await startGarage({ bucket: "latency", dbEngine });
garagePids = await garageChildren();
const proxies: DelayProxy[] = [];
try {
  const credentials = { accessKeyId: garage.accessKeyId, secretAccessKey: garage.secretAccessKey };
  const direct = {
    s3Endpoint: garage.s3Endpoint,
    k2vEndpoint: garage.k2vEndpoint,
    region: garage.region,
    bucket: garage.bucket,
  };
  console.log(
    `Garage at 127.0.0.1 (db_engine ${dbEngine}), ${rounds} rounds each, one at a time; load average ${await loadAverage()}`,
  );
  console.log("direct:");
  const store = openGarageStore(direct, credentials);
  await measure(store, "direct");
  await store.close();

  const hostPort = (url: string) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) });
  proxies.push(await startDelayProxy(hostPort(garage.s3Endpoint), 0));
  proxies.push(await startDelayProxy(hostPort(garage.k2vEndpoint), 0));
  console.log("behind the bench's 0 ms proxy:");
  const proxied = openGarageStore(
    { ...direct, s3Endpoint: proxies[0]!.url, k2vEndpoint: proxies[1]!.url },
    credentials,
  );
  await measure(proxied, "proxied");
  await proxied.close();
  console.log(
    `  connections through the proxies: S3 ${proxies[0]!.counters.connections}, K2V ${proxies[1]!.counters.connections}`,
  );
} finally {
  for (const p of proxies) await p.close();
  await garage.stop();
}
