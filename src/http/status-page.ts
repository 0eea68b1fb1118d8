/**
 * The status page served at `/`: plain HTML and JavaScript, no build step. It polls
 * /api/status (and /api/splits when there are splits) every 1.5 s; polling rather than
 * EventSource, because a request held open would stall headless screenshot tools and
 * proxies alike. Everything from the API is put in the page with textContent, never as HTML.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Marble Synch</title>
<style>
  :root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --accent: #2f6fed; --ok: #12875a; --warn: #b54708; --bg: #f7f8fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 "DejaVu Sans", system-ui, sans-serif; color: var(--fg); background: var(--bg); }
  header { background: #fff; border-bottom: 1px solid var(--line); padding: 14px 28px; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 20px; margin: 0; }
  header .meta { color: var(--muted); font-size: 12px; }
  code { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }
  main { padding: 20px 28px; display: grid; grid-template-columns: 1fr 1fr; gap: 18px; max-width: 1400px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 10px; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 5px 8px 5px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-weight: 600; color: var(--muted); font-size: 12px; }
  td.num { font-variant-numeric: tabular-nums; }
  .bar { height: 18px; background: #eef1f6; border-radius: 9px; overflow: hidden; margin: 8px 0; }
  .bar > div { height: 100%; background: var(--accent); width: 0; }
  .bar.idle > div { background: var(--ok); }
  .state-connected { color: var(--ok); font-weight: 600; }
  .state-offline { color: var(--warn); font-weight: 600; }
  .muted { color: var(--muted); }
  .big { font-size: 22px; font-weight: 600; }
  .stats { display: flex; gap: 28px; flex-wrap: wrap; }
  .stats div span { display: block; color: var(--muted); font-size: 12px; }
  #error { display: none; background: #fef3f2; color: #b42318; padding: 10px 28px; border-bottom: 1px solid #fecdca; }
  a { color: var(--accent); }
</style>
</head>
<body>
<header>
  <h1 id="instance">Marble Synch</h1>
  <div class="meta">id <code id="instance-id">…</code></div>
  <div class="meta">fingerprint <code id="fingerprint">…</code></div>
  <div class="meta" id="updated">loading…</div>
</header>
<div id="error"></div>
<main>
  <section class="wide">
    <h2>Sync</h2>
    <div class="big" id="sync-state">…</div>
    <div class="bar" id="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><div id="bar-fill"></div></div>
    <div class="stats">
      <div><span>files to fetch</span><b id="files-left">0</b></div>
      <div><span>bytes to fetch</span><b id="bytes-left">0 B</b></div>
      <div><span>download queue</span><b id="queue">0</b></div>
      <div><span>stored</span><b id="stored">…</b></div>
      <div><span>changes</span><b id="changes">…</b></div>
    </div>
  </section>
  <section>
    <h2 id="peers-title">Peers</h2>
    <div id="peer-count">peers: …</div>
    <table><thead><tr><th>name</th><th>state</th><th>direction</th><th>lag</th><th>connected</th></tr></thead><tbody id="peers"></tbody></table>
  </section>
  <section>
    <h2>Splits</h2>
    <div id="split-count">splits: …</div>
    <table><thead><tr><th>path</th><th>versions</th></tr></thead><tbody id="splits"></tbody></table>
  </section>
  <section class="wide">
    <h2>Recent changes</h2>
    <table><thead><tr><th>when</th><th>what</th><th>path</th><th>instance</th><th>size</th></tr></thead><tbody id="recent"></tbody></table>
  </section>
</main>
<script>
'use strict';
const REFRESH_MS = 1500;
const $ = (id) => document.getElementById(id);
let lastSplits = -1;

function bytes(n) {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
}
function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? s + ' s ago' : s < 3600 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago';
}
function cell(tr, text, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  if (text instanceof Node) td.appendChild(text); else td.textContent = text;
  tr.appendChild(td);
  return td;
}
function fill(tbody, rows, empty, cols) {
  tbody.textContent = '';
  if (!rows.length) {
    const tr = document.createElement('tr');
    const td = cell(tr, empty, 'muted');
    td.colSpan = cols;
    tbody.appendChild(tr);
  }
  for (const r of rows) tbody.appendChild(r);
}
/** A WebDAV link; an address bound to every interface is reached by this page's host name. */
function link(url, text) {
  if (!url) return document.createTextNode(text);
  const u = new URL(url);
  if (u.hostname === '0.0.0.0' || u.hostname === '[::]') u.hostname = location.hostname;
  const a = document.createElement('a');
  a.href = u.toString();
  a.textContent = text;
  return a;
}
function headers() {
  const token = sessionStorage.getItem('marble-token');
  return token ? { authorization: 'Bearer ' + token } : {};
}
async function getJson(path) {
  const res = await fetch(path, { headers: headers(), cache: 'no-store' });
  if (res.status === 401) {
    const token = prompt('This instance needs its API token:');
    if (token) sessionStorage.setItem('marble-token', token);
  }
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
  return res.json();
}

function render(s) {
  document.title = 'Marble Synch: ' + s.name;
  $('instance').textContent = s.name;
  $('instance-id').textContent = s.id;
  $('fingerprint').textContent = s.fingerprint;
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  const pct = Math.round(s.sync.done * 100);
  $('sync-state').textContent = s.sync.active ? 'syncing: ' + pct + '%' : 'in sync';
  $('bar').className = s.sync.active ? 'bar' : 'bar idle';
  $('bar').setAttribute('aria-valuenow', String(pct));
  $('bar-fill').style.width = pct + '%';
  $('files-left').textContent = String(s.sync.filesLeft);
  $('bytes-left').textContent = bytes(s.sync.bytesLeft);
  $('queue').textContent = String(s.queuedDownloads);
  $('stored').textContent = s.blobs + ' blobs, ' + bytes(s.blobBytes);
  $('changes').textContent = String(s.changes);

  const peers = s.peers.concat(s.offlinePeers);
  $('peer-count').textContent = 'peers: ' + s.peers.length + ' connected' + (s.offlinePeers.length ? ', ' + s.offlinePeers.length + ' offline' : '');
  fill($('peers'), peers.map((p) => {
    const tr = document.createElement('tr');
    tr.dataset.peer = p.name;
    cell(tr, p.name);
    cell(tr, p.state, 'state-' + p.state);
    cell(tr, p.direction === 'out' ? 'dialled' : p.direction === 'in' ? 'accepted' : '–');
    cell(tr, p.state === 'connected' ? p.lag + ' behind' : '–', 'num');
    cell(tr, p.connectedAt ? ago(p.connectedAt) : '–');
    return tr;
  }), 'no peers', 5);

  $('split-count').textContent = 'splits: ' + s.splits;
  if (s.splits !== lastSplits) {
    lastSplits = s.splits;
    if (!s.splits) fill($('splits'), [], 'none: every file has one version', 2);
    else getJson('api/splits').then((r) => fill($('splits'), r.splits.map((sp) => {
      const tr = document.createElement('tr');
      cell(tr, sp.path || '(deleted)');
      const td = cell(tr, '');
      sp.versions.forEach((v, i) => {
        if (i) td.appendChild(document.createTextNode(' · '));
        td.appendChild(link(v.url, v.instance + (v.deleted ? ' (deleted)' : '')));
      });
      return tr;
    }), 'none', 2)).catch(() => { lastSplits = -1; });
  }

  fill($('recent'), s.recent.map((c) => {
    const tr = document.createElement('tr');
    cell(tr, new Date(c.time).toLocaleTimeString());
    cell(tr, c.kind);
    cell(tr, c.path || '?');
    cell(tr, c.instance);
    cell(tr, c.isDir ? 'folder' : bytes(c.size), 'num');
    return tr;
  }), 'no changes yet', 5);
}

async function refresh() {
  try {
    render(await getJson('api/status'));
    $('error').style.display = 'none';
  } catch (e) {
    $('error').textContent = 'cannot reach the instance: ' + e.message;
    $('error').style.display = 'block';
  }
  setTimeout(refresh, REFRESH_MS);
}
refresh();
</script>
</body>
</html>
`;
