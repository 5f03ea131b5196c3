// kafkajs under a producer_byte_rate quota ("quota" scenarios; compat/quota.sh sets 1 MB/s
// on the client id first).
//
// Usage: compat/node/scenario.sh quota.js HOST:PORT CLIENT_ID
//
// Sends 13 MB (130 sends of 100 records of 1000 bytes, one after the other) as fast as the
// client goes, beyond the ten windows' worth Kafka's quota allows at first. kafkajs honours
// throttle_time_ms on its own (KIP-219: its request queue waits) and says so in a debug
// log line, "Client side throttling in effect for N ms": the scenario requires one with N
// above 0, no connection closed by the broker or in error, and every record acknowledged
// at offsets 0..n-1.
'use strict';

const { Kafka, logLevel } = require('kafkajs');

const SENDS = 130;
const PER_SEND = 100;

async function main() {
  const [bootstrap, clientId] = process.argv.slice(2);
  if (!bootstrap || !clientId) {
    console.error('usage: quota.js HOST:PORT CLIENT_ID');
    process.exit(2);
  }
  const started = Date.now();
  let maxThrottle = 0;
  const closed = [];
  const logCreator = () => ({ level, log }) => {
    const m = /Client side throttling in effect for (\d+)ms/.exec(log.message);
    if (m) maxThrottle = Math.max(maxThrottle, Number(m[1]));
    if (/closed connection|Connection error|Connection timeout/.test(log.message)) closed.push(log.message);
    if (level <= logLevel.WARN) console.error(`kafkajs: ${log.message}`);
  };
  const kafka = new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.DEBUG, logCreator });
  const producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false });
  await producer.connect();
  const topic = `skiff-quota-kafkajs-${Date.now()}`;
  console.error(`kafkajs quota: producing ${SENDS * PER_SEND} records of 1000 bytes to ${topic}`);
  const value = Buffer.alloc(1000, 'q');
  let next = 0;
  for (let s = 0; s < SENDS; s++) {
    const messages = [];
    for (let i = 0; i < PER_SEND; i++) messages.push({ key: String(s * PER_SEND + i), value, partition: 0 });
    const [r] = await producer.send({ topic, messages, acks: -1 });
    if (Number(r.baseOffset) !== next) throw new Error(`send ${s} at offset ${r.baseOffset}, expected ${next}`);
    next += PER_SEND;
  }
  await producer.disconnect();
  if (!(maxThrottle > 0)) throw new Error('kafkajs reported no client side throttling');
  if (closed.length) throw new Error(`connections closed: ${closed.join('; ')}`);
  console.error(`kafkajs quota: throttle max ${maxThrottle} ms, no disconnect`);
  console.log(`kafkajs quota: OK (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

main().catch((e) => {
  console.error(`kafkajs quota FAILED: ${e.message}`);
  process.exit(1);
});
