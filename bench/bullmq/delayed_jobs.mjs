// BullMQ processing delayed jobs on Redis: the peer of steward_playbook_bench (bench/playbook_bench.cc).
// It measures the same two things on a Redis you give it:
//
//   1. backlog: N delayed jobs, all already due when the worker starts; time from Worker.run() to the
//      N-th 'completed' event -> jobs/s. (Steward: steps/s from a backlog of N due enrolments.)
//   2. steady: R*S more delayed jobs whose due times are spread evenly at R per second over S seconds,
//      added (all of them) before the first falls due, while `--hold` jobs (default N) wait in the
//      delayed set a month ahead, as Steward's N enrolments stay in flight. Per job, lateness is
//      `processedOn - (timestamp + delay)`: BullMQ's own "moved to active" time minus the job's due time
//      (both in ms). The time the processor was entered is reported too.
//
//   node delayed_jobs.mjs --port=PORT [--host=127.0.0.1] [--jobs=100000] [--rate=10000] [--seconds=5]
//                         [--concurrency=50] [--hold=JOBS] [--cleanup=true]
//
// Settings, chosen as a production user would (nothing hobbled, nothing tuned for the benchmark):
// - One Queue (producer) and one Worker in this process, each with its own ioredis connection (the
//   Worker has a second, blocking one), `connection: {host, port}`: BullMQ's documented setup.
// - Processor: an async function that returns at once (no work), as Steward's step hand-off does no
//   delivery. Concurrency `--concurrency` (BullMQ's knob for I/O-bound work in one process).
// - Jobs: `removeOnComplete: true` (a completed job's hash is deleted in the same script that completes
//   it: Redis stays lean, as Steward trims its action stream), `removeOnFail: 1000`. `attempts` 1.
// - Worker defaults kept: lockDuration 30 s with lock renewal, stalledInterval 30 s, maxStalledCount 1,
//   drainDelay 5 s. drainDelay only matters when the queue holds no job at all: with delayed jobs the
//   worker blocks (BZPOPMIN on the queue's marker key) exactly until the next delayed job's due time,
//   capped at 10 s, and adding an earlier job wakes it through the marker.
// - The events stream keeps BullMQ's default (~10,000 entries); every promotion, activation and
//   completion XADDs an event to it, as in production.
//
// BullMQ's delayed-job timer: a delayed job's score is (timestamp + delay) * 4096 + a sequence number,
// so due times have 1 ms granularity. A worker promotes due jobs (up to 1000 per call) to `wait` inside
// the Lua script that moves the next job to active (moveToActive, and the fetch-next part of
// moveToFinished), using the worker's Date.now() as "now"; that same timestamp becomes the job's
// processedOn. An idle worker blocks on the marker with a fractional timeout (Redis >= 6: 1 ms
// resolution). So there is no polling interval to tune; lateness is the worker's own queueing.
//
// The last line of stdout is one JSON object with every number.

import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const BULLMQ_VERSION = require('bullmq/package.json').version;
const IOREDIS_VERSION = require('ioredis/package.json').version;

function parseArgs(argv) {
  const args = {
    host: '127.0.0.1',
    port: 6379,
    jobs: 100000,
    rate: 10000,
    seconds: 5,
    concurrency: 50,
    hold: undefined,
    cleanup: true,
  };
  for (const arg of argv) {
    const m = /^--([a-z_]+)=(.*)$/.exec(arg);
    if (!m || !(m[1] in args)) {
      console.error(`unknown argument ${arg}\nusage: node delayed_jobs.mjs --port=PORT --jobs=N --rate=R ` +
                    '--seconds=S --concurrency=C [--hold=H] [--host=HOST] [--cleanup=true|false]');
      process.exit(2);
    }
    args[m[1]] = m[1] === 'host' ? m[2] : m[1] === 'cleanup' ? m[2] !== 'false' : Number(m[2]);
  }
  if (args.hold === undefined) args.hold = args.jobs;
  for (const k of ['port', 'jobs', 'rate', 'seconds', 'concurrency', 'hold']) {
    if (!Number.isInteger(args[k]) || args[k] < 0 || (k !== 'hold' && args[k] === 0)) {
      console.error(`--${k} must be a positive integer`);
      process.exit(2);
    }
  }
  return args;
}

const CHUNK = 1000;  // jobs per addBulk call (one MULTI of CHUNK addDelayedJob scripts)

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

// Seconds of CPU the Redis server has used (user + system), from INFO cpu.
async function redisCpu(client) {
  const info = await client.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]);
}

// Seconds of CPU the whole machine has been busy (Linux /proc/stat; 0 elsewhere). Minus what Node and
// Redis used, it is what other processes took from the benchmark (meaningful when Redis runs here).
function machineBusyCpu() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return (user + nice + system + irq + softirq + (steal || 0)) / 100;  // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

function nodeCpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function usedMemory(client) {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

// Adds `count` delayed jobs; dueOf(i) is job i's due time (ms since the epoch, integer). Each chunk
// gets one explicit `timestamp` so that timestamp + delay is exactly the intended due time.
async function addDelayed(queue, count, name, dueOf) {
  for (let first = 0; first < count; first += CHUNK) {
    const now = Date.now();
    const jobs = [];
    for (let i = first; i < Math.min(count, first + CHUNK); ++i) {
      const due = dueOf(i);
      // delay must be > 0 for the job to go through the delayed set (0 would add it to wait directly).
      jobs.push({
        name,
        data: { account: `acct-${String(i).padStart(7, '0')}`, playbook: 'bench', step: 's1' },
        opts: { timestamp: now, delay: Math.max(1, due - now) },
      });
    }
    await queue.addBulk(jobs);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const connection = { host: args.host, port: args.port };
  const queueName = `steward-peer-${process.pid}-${Date.now()}`;
  const queue = new Queue(queueName, {
    connection,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: 1000, attempts: 1 },
  });
  await queue.waitUntilReady();
  // A connection of our own for INFO (memory, version): not one of BullMQ's.
  const client = new Redis({ host: args.host, port: args.port });
  const redisVersion = /redis_version:(\S+)/.exec(await client.info('server'))[1];

  // Lateness samples of the steady phase (ms).
  const arrivals = args.rate * args.seconds;
  const latenessActive = [];  // processedOn - due
  const latenessEntry = [];   // processor entered - due
  const latenessSettled = []; // processedOn - due, of jobs due 1 s or more after the first: without the
                              // burst that wakes an idle worker
  let backlogDone = 0;
  let steadyDone = 0;
  let onBacklog = () => {};
  let onSteady = () => {};
  let firstDue = Infinity;

  const worker = new Worker(
    queueName,
    async (job) => {
      if (job.name === 'steady') {
        const entered = Date.now();
        const due = job.timestamp + job.opts.delay;
        latenessActive.push(job.processedOn - due);
        latenessEntry.push(entered - due);
        if (due >= firstDue + 1000) latenessSettled.push(job.processedOn - due);
      }
      // No work: the hand-off is the measured thing.
    },
    { connection, concurrency: args.concurrency, autorun: false },
  );
  let workerErrors = 0;
  worker.on('error', (err) => {
    if (++workerErrors <= 5) console.error('worker error:', err.message);
  });
  let failed = 0;
  worker.on('failed', (job, err) => {
    if (++failed <= 5) console.error('job failed:', err.message);
  });
  worker.on('completed', (job) => {
    if (job.name === 'steady') {
      if (++steadyDone === arrivals) onSteady();
    } else if (job.name === 'backlog') {
      if (++backlogDone === args.jobs) onBacklog();
    }
  });
  await worker.waitUntilReady();

  // 1. Backlog: N delayed jobs due 1 ms after they were added, so all are due when the worker starts.
  const mem0 = await usedMemory(client);
  const addStart = performance.now();
  const t0 = Date.now();
  await addDelayed(queue, args.jobs, 'backlog', () => t0 + 1);
  const addSeconds = (performance.now() - addStart) / 1000;
  const addRate = args.jobs / addSeconds;
  const delayedBefore = await queue.getDelayedCount();
  const backlogBytes = (await usedMemory(client) - mem0) / args.jobs;
  process.stderr.write(`added ${args.jobs} delayed jobs in ${addSeconds.toFixed(1)} s; ` +
                       `${delayedBefore} in the delayed set\n`);

  const backlogFinished = new Promise((resolve) => { onBacklog = resolve; });
  const load = loadavg()[0];
  const cpus = availableParallelism();
  const redisCpu0 = await redisCpu(client);
  const nodeCpu0 = nodeCpu();
  const machineCpu0 = machineBusyCpu();
  const backlogStart = performance.now();
  const running = worker.run();
  await backlogFinished;
  const backlogSeconds = (performance.now() - backlogStart) / 1000;
  const backlogRate = args.jobs / backlogSeconds;
  // CPU the backlog cost, both sides: less sensitive than jobs/s to whatever else runs on the machine.
  const backlogNodeCpu = nodeCpu() - nodeCpu0;
  const backlogRedisCpu = await redisCpu(client) - redisCpu0;
  const backlogOtherCpu = Math.max(0, machineBusyCpu() - machineCpu0 - backlogNodeCpu - backlogRedisCpu);
  const countsAfterBacklog = await queue.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed');

  // Jobs held in flight (due a month ahead) while the steady phase runs: the peer of Steward's N
  // enrolments, whose next steps wait in its schedule during its lateness phase.
  const memHold0 = await usedMemory(client);
  const monthAhead = Date.now() + 30 * 24 * 3600 * 1000;
  await addDelayed(queue, args.hold, 'held', () => monthAhead);
  const holdBytes = args.hold > 0 ? (await usedMemory(client) - memHold0) / args.hold : 0;

  // 2. Steady: `rate` jobs fall due per second for `seconds` seconds. All are added before the first is
  // due (the lead time allows 1.5x the add rate measured above, and at least 2 s).
  const leadMs = Math.max(2000, Math.ceil(1000 + 1500 * arrivals / addRate));
  firstDue = Date.now() + leadMs;
  let steadyCpu0 = null;
  const steadyCpuTimer = setTimeout(async () => {
    steadyCpu0 = { node: nodeCpu(), redis: await redisCpu(client), machine: machineBusyCpu() };
  }, leadMs);
  const steadyFinished = new Promise((resolve) => { onSteady = resolve; });
  await addDelayed(queue, arrivals, 'steady', (i) => firstDue + Math.floor((i * 1000) / args.rate));
  const addedBeforeFirstDue = Date.now() < firstDue;
  if (!addedBeforeFirstDue) console.error('warning: the steady jobs were still being added when the first fell due');
  const lastDue = firstDue + Math.floor(((arrivals - 1) * 1000) / args.rate);
  const steadyTimeout = Math.max(0, lastDue - Date.now()) + 60000;
  let timer;
  const steadyOk = await Promise.race([
    steadyFinished.then(() => true),
    new Promise((resolve) => { timer = setTimeout(() => resolve(false), steadyTimeout); }),
  ]);
  clearTimeout(timer);
  clearTimeout(steadyCpuTimer);
  const steadyEnd = Date.now();
  const steadySeconds = Math.max(0.001, (steadyEnd - firstDue) / 1000);
  let steadyOtherCpu = 0;
  if (steadyCpu0 !== null) {
    const node = nodeCpu() - steadyCpu0.node;
    const redis = await redisCpu(client) - steadyCpu0.redis;
    steadyOtherCpu = Math.max(0, machineBusyCpu() - steadyCpu0.machine - node - redis);
  }
  const countsAfterSteady = await queue.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed');

  await worker.close();
  await running;
  if (args.cleanup) await queue.obliterate({ force: true });
  await queue.close();
  await client.quit();

  latenessActive.sort((a, b) => a - b);
  latenessEntry.sort((a, b) => a - b);
  latenessSettled.sort((a, b) => a - b);
  const s99 = percentile(latenessSettled, 0.99);
  const p50 = percentile(latenessActive, 0.5);
  const p99 = percentile(latenessActive, 0.99);
  const max = percentile(latenessActive, 1);
  const e50 = percentile(latenessEntry, 0.5);
  const e99 = percentile(latenessEntry, 0.99);
  const emax = percentile(latenessEntry, 1);

  const lines = [
    `BullMQ ${BULLMQ_VERSION} (ioredis ${IOREDIS_VERSION}, Node ${process.versions.node}), Redis ${redisVersion} ` +
      `at ${args.host}:${args.port}; one Worker, concurrency ${args.concurrency}, no-op processor, ` +
      'removeOnComplete: true (completed jobs deleted)',
    `  added ${args.jobs} delayed jobs in ${addSeconds.toFixed(1)} s (${addRate.toFixed(0)} jobs/s, addBulk of ` +
      `${CHUNK}); Redis memory per delayed job: ${backlogBytes.toFixed(0)} B` +
      (args.hold > 0 ? ` (held jobs: ${holdBytes.toFixed(0)} B)` : ''),
    `  backlog: ${args.jobs} jobs in ${backlogSeconds.toFixed(2)} s = ${backlogRate.toFixed(0)} jobs/s ` +
      `(promoted, run, completed) with ${args.jobs} due; CPU: node ${backlogNodeCpu.toFixed(1)} s + redis ` +
      `${backlogRedisCpu.toFixed(1)} s = ${(1e6 * (backlogNodeCpu + backlogRedisCpu) / args.jobs).toFixed(0)} us per ` +
      `job; left: ${JSON.stringify(countsAfterBacklog)}`,
    `  steady: ${arrivals} jobs due over ${args.seconds} s (${args.rate}/s) with ${args.hold} held in the ` +
      `delayed set: ${latenessActive.length} processed` + (steadyOk ? '' : ' (TIMED OUT)') +
      `, lateness (processedOn - due) p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms;` +
      ` to processor entry p50 ${e50.toFixed(1)} ms, p99 ${e99.toFixed(1)} ms, max ${emax.toFixed(1)} ms;` +
      ` p99 of jobs due after the first second ${s99.toFixed(1)} ms;` +
      ` last completion ${steadyEnd - lastDue} ms after the last due time; left: ${JSON.stringify(countsAfterSteady)}`,
  ];
  // More than 5% of a core taken by others (an idle machine's daemons take ~1%).
  const busy = backlogOtherCpu > 0.05 * backlogSeconds || steadyOtherCpu > 0.05 * steadySeconds;
  lines.push(`  machine: ${cpus} cores, load average ${load.toFixed(2)} when the backlog started; CPU taken by ` +
             `other processes: ${backlogOtherCpu.toFixed(1)} s during the backlog, ${steadyOtherCpu.toFixed(1)} s ` +
             'during the steady phase' +
             (busy ? ' (WARNING: a busy machine, rerun on a quiet one)' : ''));
  if (failed > 0 || workerErrors > 0) lines.push(`  failed jobs: ${failed}, worker errors: ${workerErrors}`);
  console.log(lines.join('\n'));
  console.log(JSON.stringify({
    bench: 'bullmq',
    bullmq_version: BULLMQ_VERSION,
    jobs: args.jobs,
    jobs_per_s: Math.round(backlogRate),
    backlog_cpu_us_per_job: Math.round(1e6 * (backlogNodeCpu + backlogRedisCpu) / args.jobs),
    backlog_node_cpu_s: Number(backlogNodeCpu.toFixed(2)),
    backlog_redis_cpu_s: Number(backlogRedisCpu.toFixed(2)),
    rate: args.rate,
    seconds: args.seconds,
    held_in_flight: args.hold,
    steady_processed: latenessActive.length,
    lateness_p50_ms: p50,
    lateness_p99_ms: p99,
    lateness_max_ms: max,
    lateness_p99_after_1s_ms: latenessSettled.length > 0 ? s99 : null,
    lateness_to_processor_p50_ms: e50,
    lateness_to_processor_p99_ms: e99,
    concurrency: args.concurrency,
    remove_on_complete: true,
    add_jobs_per_s: Math.round(addRate),
    bytes_per_delayed_job: Math.round(backlogBytes),
    added_before_first_due: addedBeforeFirstDue,
    load_average: Number(load.toFixed(2)),
    other_cpu_s_backlog: Number(backlogOtherCpu.toFixed(2)),
    other_cpu_s_steady: Number(steadyOtherCpu.toFixed(2)),
    busy_machine: busy,
  }));
  const ok = backlogDone === args.jobs && latenessActive.length === arrivals && failed === 0;
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
