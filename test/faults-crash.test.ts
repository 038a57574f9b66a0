// The relay's own crashes: a worker thread killed with chunks in flight, kill -9 of the whole
// process with filesystem storage, and storage.path running out of space. What the relay
// acknowledged exists only inside it when the fault hits (the server had stopped reading and
// is restarted, discarding unread frames); every such record must still arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diskFull, mountSmallDisk, relayKill9, workerKilledShutdown } from './support/fault-crashes.js';
import { keptPromise, verdict } from './support/fault-report.js';

test('a worker thread killed with chunks in flight: the pool replaces it and the chunks are sent again', async (t) => {
  const { report: r, stuck } = await workerKilledShutdown();
  t.diagnostic(verdict(r));
  assert.equal(stuck, null, 'shutdown did not wait for the dead thread');
  assert.ok(Number(r.notes['chunks in flight when killed']) >= 1);
  assert.equal(r.notes['threads after'], 1, 'the pool replaced the thread');
  assert.equal(r.acknowledged, 5000);
  assert.ok(keptPromise(r), verdict(r));
  assert.equal(r.notes['dropped worker_crash'], 0);
});

test('kill -9 with filesystem storage: every record answered 2xx arrives after the restart', async (t) => {
  // 1,000 records (0.2 s of the load) acknowledged while the server does not read: the
  // chunks on disk at the kill, whichever of them the relay had written to the socket.
  const r = await relayKill9('filesystem', { unread: 1000 });
  t.diagnostic(verdict(r));
  assert.ok(Number(r.notes['acknowledged before the kill']) > 0);
  assert.ok(keptPromise(r), verdict(r));
});

// The full disk is a small tmpfs: mounting one needs root.
const probe = mountSmallDisk(64);
probe?.unmount();

test(
  'disk full on storage.path: nothing is acknowledged that was not stored, then it recovers',
  {
    skip: probe ? false : 'mounting a tmpfs needs root',
  },
  async (t) => {
    // A window while full (nothing it acknowledges may be lost), as short as a few of the
    // sender's retries (100 ms apart).
    const r = await diskFull({ fullSeconds: 0.3 });
    t.diagnostic(verdict(r));
    assert.equal(r.notes['error logged'], 'yes', 'a clear error names the full disk');
    assert.ok(Number(r.notes['http 503/errors']) > 0, 'the input refused records while the disk was full');
    assert.ok(keptPromise(r), verdict(r));
  },
);
