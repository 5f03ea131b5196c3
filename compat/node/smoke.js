#!/usr/bin/env node
// kafkajs scenario of the Skiff compat harness.
//
// Usage: node compat/node/smoke.js HOST:PORT [--no-group]   (or BOOTSTRAP=HOST:PORT)
//
// 1. A producer (kafkajs 2.x, idempotence off, acks=-1) writes to a new, auto-created topic in
//    five sends, one per compression codec (none, gzip, snappy, lz4, zstd), each spread over
//    partitions 0..2: keyed, null-keyed and empty-keyed records, null and empty values,
//    explicit increasing timestamps, repeated header keys and empty header values. The
//    returned base offsets must be contiguous per partition.
// 2. Admin fetchTopicOffsets: low 0 and high = records written, per partition.
// 3. Admin fetchTopicOffsetsByTimestamp: for sampled records' timestamps, every partition's
//    answer is the first offset at or after it; before everything → 0; after everything →
//    the high watermark (kafkajs substitutes it for ListOffsets' -1).
// 4. Unless --no-group: a consumer in a new group (subscribe fromBeginning) reads every
//    record back exactly (offsets, keys, values, headers, timestamps), commits the end
//    offsets; admin listGroups/describeGroups show the group Stable with one member, Empty
//    once it left; admin fetchOffsets returns the commits; after it leaves, new records are produced and
//    a second member of the same group receives exactly those.
// Exits non-zero with a message naming the first mismatch.
'use strict';

const {
  Kafka,
  CompressionTypes,
  CompressionCodecs,
  logLevel,
} = require('kafkajs');
const SnappyCodec = require('kafkajs-snappy');
const lz4 = require('lz4-napi');
const zstd = require('zstd-napi');

const NAME = 'kafkajs smoke';
const TIMEOUT_MS = Number(process.env.SCENARIO_TIMEOUT_MS || 120000);
const PARTITIONS = 3;

// Codecs kafkajs does not ship: snappy from kafkajs-snappy; LZ4 frames (Kafka's format) and
// zstd from N-API packages.
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder) => lz4.compressFrame(encoder.buffer),
  decompress: async (buffer) => lz4.decompressFrame(buffer),
});
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: async (encoder) => zstd.compress(encoder.buffer),
  decompress: async (buffer) => zstd.decompress(buffer),
});

class Mismatch extends Error {}

function check(cond, what) {
  if (!cond) throw new Mismatch(what);
}

function step(msg) {
  process.stderr.write(`${NAME}: ${msg}\n`);
}

function args() {
  const rest = process.argv.slice(2);
  const noGroup = rest.includes('--no-group');
  const pos = rest.filter((a) => !a.startsWith('--'));
  const bootstrap = pos[0] || process.env.BOOTSTRAP;
  if (!bootstrap) {
    process.stderr.write('usage: smoke.js HOST:PORT [--no-group] (or set BOOTSTRAP)\n');
    process.exit(2);
  }
  return { bootstrap, noGroup };
}

function uniqueName(prefix) {
  return `${prefix}-${Math.floor(Date.now() / 1000)}-${Math.random().toString(16).slice(2, 10)}`;
}

// The records of one send: every shape a client must round-trip.
// Headers are kept as an ordered list of [key, value] pairs (kafkajs takes an object whose
// repeated keys are arrays, and hands back Buffers, arrays for repeated keys).
function makeRecords(n, salt, baseTs) {
  const recs = [];
  for (let i = 0; i < n; i++) {
    let key = Buffer.from(`key-${salt}-${i}`);
    if (i % 7 === 3) key = null;
    else if (i % 11 === 5) key = Buffer.alloc(0);
    let value = Buffer.from(`value ${i} of ${salt}; `.repeat(1 + (i % 30)));
    if (i % 9 === 4) value = null;
    else if (i % 13 === 6) value = Buffer.alloc(0);
    let headers = [];
    if (i % 3 === 0) headers = [['dup', '1'], ['dup', '2'], ['dup', '3'], ['other', 'x']];
    else if (i % 3 === 1) headers = [['empty', ''], ['bin', Buffer.from([0, 255, i % 256])]];
    recs.push({ partition: i % PARTITIONS, key, value, headers, timestamp: baseTs + 10 * i, offset: -1 });
  }
  return recs;
}

function headersObject(pairs) {
  const obj = {};
  for (const [k, v] of pairs) {
    if (k in obj) obj[k] = [].concat(obj[k], v);
    else obj[k] = v;
  }
  return obj;
}

// Normalised form for comparison: {key: [hex...]} in key order of first appearance.
function normHeaders(obj) {
  const out = {};
  for (const k of Object.keys(obj || {})) {
    out[k] = [].concat(obj[k]).map((v) => (v === null || v === undefined ? null : Buffer.from(v).toString('hex')));
  }
  return JSON.stringify(out);
}

function brief(r) {
  const cut = (b) => (b === null || b === undefined ? 'null' : JSON.stringify(b.toString('latin1').slice(0, 24)) + `(${b.length} B)`);
  return `p${r.partition}@${r.offset} ts=${r.timestamp} key=${cut(r.key)} value=${cut(r.value)} headers=${normHeaders(r.headersObj)}`;
}

function eqBuf(a, b) {
  if (a === null || b === null) return a === b;
  return Buffer.compare(a, b) === 0;
}

function comparePartition(label, want, got) {
  for (let i = 0; i < Math.min(want.length, got.length); i++) {
    const w = want[i];
    const g = got[i];
    const diffs = [];
    if (w.offset !== g.offset) diffs.push('offset');
    if (!eqBuf(w.key, g.key)) diffs.push('key');
    if (!eqBuf(w.value, g.value)) diffs.push('value');
    if (normHeaders(w.headersObj) !== normHeaders(g.headersObj)) diffs.push('headers');
    if (w.timestamp !== g.timestamp) diffs.push('timestamp');
    if (diffs.length) {
      throw new Mismatch(`${label}: record #${i} differs in ${diffs.join(', ')}\n  want ${brief(w)}\n  got  ${brief(g)}`);
    }
  }
  check(
    want.length === got.length,
    `${label}: want ${want.length} records, got ${got.length}` + (got.length > want.length ? `; first extra: ${brief(got[want.length])}` : ''),
  );
}

async function produceAll(producer, topic, recs, compression, nextOffset) {
  const messages = recs.map((r) => ({
    partition: r.partition,
    key: r.key,
    value: r.value,
    headers: headersObject(r.headers),
    timestamp: String(r.timestamp),
  }));
  const res = await producer.send({ topic, messages, compression, acks: -1, timeout: 30000 });
  for (const r of res) {
    check(r.errorCode === 0, `produce (codec ${compression}) p${r.partition}: error code ${r.errorCode}`);
  }
  // kafkajs sends one batch per partition: its records get offsets from the base offset on.
  const base = new Map(res.map((r) => [r.partition, Number(r.baseOffset)]));
  for (let p = 0; p < PARTITIONS; p++) {
    const mine = recs.filter((r) => r.partition === p);
    if (!mine.length) continue;
    check(base.has(p), `produce (codec ${compression}): no result for partition ${p}: ${JSON.stringify(res)}`);
    check(base.get(p) === nextOffset[p], `produce (codec ${compression}) p${p}: base offset ${base.get(p)}, want ${nextOffset[p]}`);
    mine.forEach((r, i) => {
      r.offset = nextOffset[p] + i;
      r.headersObj = headersObject(r.headers);
    });
    nextOffset[p] += mine.length;
  }
}

function toRec(partition, m) {
  return {
    partition,
    offset: Number(m.offset),
    key: m.key === undefined ? null : m.key,
    value: m.value === undefined ? null : m.value,
    headersObj: m.headers || {},
    timestamp: Number(m.timestamp),
  };
}

// Run a group consumer until `count` records arrived; returns them per partition.
async function consumeGroup(kafka, topic, groupId, count, what) {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  });
  const got = new Map();
  let n = 0;
  let done;
  let failed;
  const finished = new Promise((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  // kafkajs restarts a consumer after a retriable error (e.g. COORDINATOR_LOAD_IN_PROGRESS on
  // a fresh Kafka); only a crash it gives up on fails the scenario.
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) failed(new Mismatch(`${what}: consumer crashed: ${e.payload.error}`));
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (!got.has(partition)) got.set(partition, []);
      got.get(partition).push(toRec(partition, message));
      n += 1;
      if (n >= count) done();
    },
  });
  const timer = setTimeout(() => failed(new Mismatch(`${what}: timed out with ${n} of ${count} records`)), TIMEOUT_MS / 2);
  try {
    await finished;
  } finally {
    clearTimeout(timer);
  }
  return { consumer, got };
}

// Wait (up to 15 s) until admin listGroups lists the group (protocol type consumer) and
// describeGroups shows it in state `state` with `members` members.
async function expectGroup(admin, groupId, state, members) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const listed = (await admin.listGroups()).groups.find((g) => g.groupId === groupId);
    const { groups } = await admin.describeGroups([groupId]);
    const d = groups.find((g) => g.groupId === groupId);
    let problem = '';
    if (!listed) problem = `listGroups does not list ${groupId}`;
    else if (listed.protocolType !== 'consumer') problem = `listGroups: protocol type ${JSON.stringify(listed.protocolType)}, want "consumer"`;
    else if (!d || d.errorCode !== 0) problem = `describeGroups: ${JSON.stringify(d)}`;
    else if (d.state !== state || d.members.length !== members) {
      problem = `describeGroups: state ${d.state} with ${d.members.length} members, want ${state} with ${members}`;
    } else if (members > 0 && d.protocolType !== 'consumer') problem = `describeGroups: protocol type ${d.protocolType}`;
    if (!problem) return;
    check(Date.now() < deadline, `group ${groupId}: ${problem}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main() {
  const { bootstrap, noGroup } = args();
  const kafka = new Kafka({
    clientId: 'skiff-compat-kafkajs',
    brokers: [bootstrap],
    // COMPAT_KAFKAJS_LOG_LEVEL: NOTHING, ERROR, WARN (default), INFO or DEBUG.
    logLevel: logLevel[(process.env.COMPAT_KAFKAJS_LOG_LEVEL || 'WARN').toUpperCase()] ?? logLevel.WARN,
    retry: { retries: 10, initialRetryTime: 100 },
  });
  const topic = uniqueName('compat-kafkajs');
  const producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false });
  const admin = kafka.admin();
  await producer.connect();
  await admin.connect();
  try {
    const codecs = [
      ['none', CompressionTypes.None],
      ['gzip', CompressionTypes.GZIP],
      ['snappy', CompressionTypes.Snappy],
      ['lz4', CompressionTypes.LZ4],
      ['zstd', CompressionTypes.ZSTD],
    ];
    const baseTs = Date.now() - 600000;
    const nextOffset = new Array(PARTITIONS).fill(0);
    const all = [];
    step(`produce 5 sends (none/gzip/snappy/lz4/zstd) to ${topic}`);
    for (const [ci, [name, type]] of codecs.entries()) {
      const recs = makeRecords(30, `${name}`, baseTs + ci * 1000);
      await produceAll(producer, topic, recs, type, nextOffset);
      all.push(...recs);
    }

    step('metadata');
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    const tmd = md.topics.find((t) => t.name === topic);
    check(tmd, `fetchTopicMetadata does not list ${topic}: ${JSON.stringify(md)}`);
    check(tmd.partitions.length >= PARTITIONS, `${topic} has ${tmd.partitions.length} partitions, want >= ${PARTITIONS}`);
    const nparts = tmd.partitions.length;
    for (const p of tmd.partitions) check(p.leader >= 0, `partition ${p.partitionId} has no leader: ${JSON.stringify(p)}`);

    step('fetchTopicOffsets');
    const offs = await admin.fetchTopicOffsets(topic);
    check(offs.length === nparts, `fetchTopicOffsets returned ${offs.length} partitions, want ${nparts}`);
    for (const o of offs) {
      const want = o.partition < PARTITIONS ? nextOffset[o.partition] : 0;
      check(Number(o.low) === 0, `fetchTopicOffsets p${o.partition}: low ${o.low}, want 0`);
      check(Number(o.high) === want && Number(o.offset) === want, `fetchTopicOffsets p${o.partition}: high ${o.high} offset ${o.offset}, want ${want}`);
    }

    step('fetchTopicOffsetsByTimestamp');
    const firstAtOrAfter = (p, ts) => {
      const r = all.find((x) => x.partition === p && x.timestamp >= ts);
      return r ? r.offset : nextOffset[p] || 0;
    };
    const maxTs = Math.max(...all.map((r) => r.timestamp));
    const probes = [baseTs - 5000, maxTs + 1, maxTs];
    all.forEach((r, i) => {
      if (i % 7 === 0) probes.push(r.timestamp, r.timestamp + 1);
    });
    for (const ts of probes) {
      const res = await admin.fetchTopicOffsetsByTimestamp(topic, ts);
      for (const o of res) {
        const want = o.partition < PARTITIONS ? firstAtOrAfter(o.partition, ts) : 0;
        check(Number(o.offset) === want, `fetchTopicOffsetsByTimestamp(${ts}) p${o.partition}: offset ${o.offset}, want ${want}`);
      }
    }

    if (noGroup) {
      step('--no-group: group consumption skipped');
      return;
    }

    const groupId = uniqueName('compat-kafkajs-group');
    step(`group ${groupId}: subscribe, consume all ${all.length}, commit`);
    const first = await consumeGroup(kafka, topic, groupId, all.length, 'first member');
    for (let p = 0; p < PARTITIONS; p++) {
      comparePartition(`group p${p}`, all.filter((r) => r.partition === p), first.got.get(p) || []);
    }
    await first.consumer.commitOffsets(
      [...Array(PARTITIONS).keys()].map((p) => ({ topic, partition: p, offset: String(nextOffset[p]) })),
    );
    step('listGroups and describeGroups: Stable with one member; Empty after it left');
    await expectGroup(admin, groupId, 'Stable', 1);
    await first.consumer.disconnect();
    await expectGroup(admin, groupId, 'Empty', 0);
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const parts = committed.find((t) => t.topic === topic).partitions;
    for (let p = 0; p < PARTITIONS; p++) {
      const c = parts.find((x) => x.partition === p);
      check(c && Number(c.offset) === nextOffset[p], `fetchOffsets p${p}: ${JSON.stringify(c)}, want offset ${nextOffset[p]}`);
    }

    step('second member resumes from the committed offsets');
    const fresh = makeRecords(2 * PARTITIONS, 'fresh', Date.now());
    await produceAll(producer, topic, fresh, CompressionTypes.GZIP, nextOffset);
    const second = await consumeGroup(kafka, topic, groupId, fresh.length, 'second member');
    try {
      for (let p = 0; p < PARTITIONS; p++) {
        comparePartition(`resume p${p}`, fresh.filter((r) => r.partition === p), second.got.get(p) || []);
      }
    } finally {
      await second.consumer.disconnect();
    }
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}

const started = Date.now();
const watchdog = setTimeout(() => {
  process.stderr.write(`${NAME} FAILED: no result after ${TIMEOUT_MS} ms\n`);
  process.exit(1);
}, TIMEOUT_MS);
main().then(
  () => {
    clearTimeout(watchdog);
    process.stderr.write(`${NAME}: OK in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    process.exit(0);
  },
  (e) => {
    const what = e instanceof Mismatch ? e.message : `${e.name}: ${e.message}${e.type ? ` (type ${e.type}, code ${e.code})` : ''}\n${e.stack}`;
    process.stderr.write(`${NAME} FAILED: ${what}\n`);
    process.exit(1);
  },
);
