// The live-tail page served on GET /: plain HTML and one inline script, no framework, nothing
// fetched from elsewhere. It connects back to the socket (passing its own query string on, so
// `/?token=...&level=error` works), shows records newest first (tag, time, pretty JSON), can
// pause, filters by field (server-side: it reconnects with the filter as query parameters,
// resuming with ?last_id= when ids are on) and shows the rate. Record text only ever goes
// through textContent, never innerHTML: log lines are untrusted.
import { createHash } from 'node:crypto';

export interface PageSettings {
  /** The WebSocket path the page connects to. */
  readonly path: string;
  readonly addTag: boolean;
  readonly addTime: boolean;
  readonly withIds: boolean;
  readonly msgpack: boolean;
  readonly lines: boolean;
}

const SCRIPT = String.raw`
'use strict';
const cfg = JSON.parse(document.getElementById('cfg').textContent);
const $ = (id) => document.getElementById(id);
const list = $('records');
const MAX_ROWS = 500;
let ws = null;
let paused = false;
let lastId = null;
let pending = [];
let heldWhilePaused = 0;
let total = 0;
let windowCount = 0;
let retryMs = 500;
let filter = new URLSearchParams(location.search);

// A small msgpack decoder: enough for what the relay sends (maps, arrays, strings, numbers,
// booleans, nil, binary; extension types come out as {ext, data}).
function unpack(buffer) {
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  const text = new TextDecoder();
  let at = 0;
  const str = (n) => { const s = text.decode(bytes.subarray(at, at + n)); at += n; return s; };
  const bin = (n) => { const b = bytes.slice(at, at + n); at += n; return b; };
  const arr = (n) => { const a = new Array(n); for (let i = 0; i < n; i++) a[i] = read(); return a; };
  const map = (n) => { const o = {}; for (let i = 0; i < n; i++) { const k = read(); o[k] = read(); } return o; };
  const ext = (n) => { const type = view.getInt8(at); at += 1; return { ext: type, data: bin(n) }; };
  const u = (n) => { let v; if (n === 1) v = view.getUint8(at); else if (n === 2) v = view.getUint16(at);
    else if (n === 4) v = view.getUint32(at); else v = view.getUint32(at) * 4294967296 + view.getUint32(at + 4);
    at += n; return v; };
  const s = (n) => { let v; if (n === 1) v = view.getInt8(at); else if (n === 2) v = view.getInt16(at);
    else if (n === 4) v = view.getInt32(at); else v = Number(view.getBigInt64(at)); at += n; return v; };
  function read() {
    const b = bytes[at++];
    if (b <= 0x7f) return b;
    if (b <= 0x8f) return map(b & 0x0f);
    if (b <= 0x9f) return arr(b & 0x0f);
    if (b <= 0xbf) return str(b & 0x1f);
    if (b >= 0xe0) return b - 256;
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return bin(u(1));
      case 0xc5: return bin(u(2));
      case 0xc6: return bin(u(4));
      case 0xc7: return ext(u(1));
      case 0xc8: return ext(u(2));
      case 0xc9: return ext(u(4));
      case 0xca: { const v = view.getFloat32(at); at += 4; return v; }
      case 0xcb: { const v = view.getFloat64(at); at += 8; return v; }
      case 0xcc: return u(1);
      case 0xcd: return u(2);
      case 0xce: return u(4);
      case 0xcf: return u(8);
      case 0xd0: return s(1);
      case 0xd1: return s(2);
      case 0xd2: return s(4);
      case 0xd3: return s(8);
      case 0xd4: return ext(1);
      case 0xd5: return ext(2);
      case 0xd6: return ext(4);
      case 0xd7: return ext(8);
      case 0xd8: return ext(16);
      case 0xd9: return str(u(1));
      case 0xda: return str(u(2));
      case 0xdb: return str(u(4));
      case 0xdc: return arr(u(2));
      case 0xdd: return arr(u(4));
      case 0xde: return map(u(2));
      case 0xdf: return map(u(4));
      default: throw new Error('msgpack: unknown byte 0x' + b.toString(16));
    }
  }
  return read();
}

// [tag?, time?, record, id?] as the server is configured.
function toEntry(message) {
  let i = 0;
  const tag = cfg.addTag ? message[i++] : '';
  const time = cfg.addTime ? message[i++] : null;
  const record = message[i++];
  const id = cfg.withIds ? message[i++] : null;
  return { tag, time, record, id };
}

function onMessage(event) {
  const messages = [];
  if (cfg.msgpack) messages.push(unpack(event.data));
  else if (cfg.lines) {
    for (const line of event.data.split('\n')) if (line !== '') messages.push(JSON.parse(line));
  } else messages.push(JSON.parse(event.data));
  for (const message of messages) {
    const entry = toEntry(message);
    entry.received = Date.now();
    if (entry.id !== null) lastId = entry.id;
    total++;
    windowCount++;
    if (paused) heldWhilePaused++;
    pending.push(entry);
  }
  // Only the newest rows can be shown; the rest are counted, not kept.
  if (pending.length > MAX_ROWS) pending = pending.slice(-MAX_ROWS);
  if (!paused) schedule();
}

let scheduled = false;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(render);
}

function render() {
  scheduled = false;
  const batch = pending;
  pending = [];
  const fragment = document.createDocumentFragment();
  for (let i = batch.length - 1; i >= 0; i--) fragment.appendChild(row(batch[i]));
  list.insertBefore(fragment, list.firstChild);
  while (list.childElementCount > MAX_ROWS) list.lastElementChild.remove();
  $('count').textContent = String(total);
}

function row(entry) {
  const div = document.createElement('div');
  div.className = 'rec';
  const head = document.createElement('div');
  const tag = document.createElement('span');
  tag.className = 'tag';
  tag.textContent = entry.tag;
  const time = document.createElement('span');
  time.className = 'time';
  time.textContent = entry.time !== null ? new Date(entry.time * 1000).toISOString().replace('.000Z', 'Z')
    : new Date(entry.received).toISOString() + ' (received)';
  head.append(tag, ' ', time);
  if (entry.id !== null) {
    const id = document.createElement('span');
    id.className = 'id';
    id.textContent = '#' + entry.id;
    head.append(' ', id);
  }
  const pre = document.createElement('pre');
  pre.textContent = JSON.stringify(entry.record, null, 2);
  div.append(head, pre);
  return div;
}

function connect() {
  const params = new URLSearchParams(filter);
  if (lastId !== null) params.set('last_id', String(lastId));
  const query = params.toString();
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + cfg.path + (query ? '?' + query : '');
  const socket = new WebSocket(url);
  ws = socket;
  socket.binaryType = 'arraybuffer';
  setStatus('connecting');
  socket.onopen = () => { retryMs = 500; setStatus('connected'); };
  socket.onmessage = onMessage;
  socket.onclose = (event) => {
    if (ws !== socket) return;
    setStatus('closed (' + event.code + (event.reason ? ': ' + event.reason : '') + '), retrying');
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  };
}

function setStatus(text) {
  $('status').textContent = text;
  document.body.dataset.status = text.split(' ')[0];
}

function applyFilter() {
  const next = new URLSearchParams();
  const token = new URLSearchParams(location.search).get('token');
  if (token !== null) next.set('token', token);
  for (const part of $('filter').value.split(/[&,]/)) {
    const eq = part.indexOf('=');
    if (eq > 0) next.append(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  filter = next;
  list.textContent = '';
  const old = ws;
  ws = null;
  if (old) old.close();
  connect();
}

$('pause').onclick = () => {
  paused = !paused;
  $('pause').textContent = paused ? 'Resume' : 'Pause';
  document.body.dataset.paused = String(paused);
  if (!paused) { heldWhilePaused = 0; schedule(); }
};
$('clear').onclick = () => { list.textContent = ''; };
$('apply').onclick = applyFilter;
$('filter').onkeydown = (event) => { if (event.key === 'Enter') applyFilter(); };
$('filter').value = [...filter].filter(([k]) => k !== 'token' && k !== 'last_id').map(([k, v]) => k + '=' + v).join('&');
setInterval(() => {
  $('rate').textContent = windowCount + ' rec/s';
  windowCount = 0;
  $('held').textContent = paused ? heldWhilePaused + ' new while paused' : '';
  $('count').textContent = String(total);
}, 1000);
connect();
`;

const SCRIPT_HASH = createHash('sha256').update(SCRIPT, 'utf8').digest('base64');

/** Only this page's own script runs; it may only talk to this server (CSP 3 'self' covers ws: and wss:). */
export const PAGE_CSP =
  `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; style-src 'unsafe-inline'; ` +
  "connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** `<` escaped so the settings cannot close the script element they sit in. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function livePage(settings: PageSettings): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsrelay live tail</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; background: #fafafa; color: #222; }
  header { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ddd; padding: 8px 12px;
    display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
  header b { margin-right: 8px; }
  #status { color: #a60; } body[data-status="connected"] #status { color: #080; }
  #filter { width: 22em; font: 13px ui-monospace, monospace; }
  #records { padding: 8px 12px; }
  .rec { border-bottom: 1px solid #eee; padding: 4px 0; }
  .tag { font-weight: 600; color: #06c; } .time, .id { color: #777; font-size: 12px; }
  pre { margin: 2px 0 0; font: 12px ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
</style>
</head>
<body>
<header>
  <b>wsrelay live tail</b>
  <span id="status">connecting</span>
  <span id="rate">0 rec/s</span>
  <span><span id="count">0</span> records</span>
  <button id="pause" type="button">Pause</button>
  <span id="held"></span>
  <label>filter <input id="filter" placeholder="field=value&amp;other=value"></label>
  <button id="apply" type="button">Apply</button>
  <button id="clear" type="button">Clear</button>
</header>
<main id="records"></main>
<script type="application/json" id="cfg">${jsonForScript(settings)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
