// Flywheel registry dashboard: polls /api/dashboard and draws plain DOM + inline SVG. No build step.
'use strict';

const POLL_MS = 3000;
const SVG_NS = 'http://www.w3.org/2000/svg';
const STATUS_COLORS = { LIVE: '#16a34a', CANDIDATE: '#2563eb', REJECTED: '#9ca3af', ROLLED_BACK: '#dc2626' };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmtTime(ms) {
  const d = new Date(ms);
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function fmtNum(v) {
  if (v === null || v === undefined) return '–';
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 10000) ? v.toExponential(2) : (Math.round(v * 1000) / 1000).toString();
}

// ---- live / candidate cards ----------------------------------------------------------------------

function renderLive(live) {
  const box = document.getElementById('live');
  box.replaceChildren();
  const add = (v, role, kind) => box.append(el('div',
      { class: 'card', 'data-role': role, 'data-kind': kind, 'data-version': v.version },
      el('div', { class: 'meta' }, (role === 'live' ? 'LIVE ' : 'candidate ') + kind),
      el('div', { class: 'v' }, 'v' + v.version + (v.stage ? ' · ' + v.stage : '')),
      el('div', { class: 'meta' }, kind === 'policy' && v.rewardModelVersion !== null
          ? 'optimised RM v' + v.rewardModelVersion : (v.parentVersion ? 'from RM v' + v.parentVersion : '')),
      el('div', { class: 'meta' }, v.createdAt ? fmtTime(Date.parse(v.createdAt)) : '')));
  for (const v of live.policy.live) add(v, 'live', 'policy');
  for (const v of live.policy.candidates) add(v, 'candidate', 'policy');
  for (const v of live.reward.live) add(v, 'live', 'reward');
  if (!box.children.length) box.append(el('div', { class: 'empty' }, 'no live or candidate versions yet'));
}

// ---- timeline of versions with lineage edges -------------------------------------------------------

function renderTimeline(versions) {
  const box = document.getElementById('timeline');
  box.replaceChildren();
  const all = [...versions.reward.map(v => ({ ...v, lane: 0 })), ...versions.policy.map(v => ({ ...v, lane: 1 }))];
  if (!all.length) {
    box.append(el('div', { class: 'empty' }, 'no versions published yet'));
    return;
  }
  const W = 900, H = 150, left = 110, right = 20, laneY = [45, 110];
  const times = all.map(v => Date.parse(v.createdAt || v.eventTime));
  let t0 = Math.min(...times), t1 = Math.max(...times);
  if (t1 === t0) { t0 -= 60000; t1 += 60000; }
  const x = t => left + (W - left - right) * (t - t0) / (t1 - t0);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'version timeline' });
  root.append(svg('text', { x: 8, y: laneY[0] + 4 }, 'reward models'));
  root.append(svg('text', { x: 8, y: laneY[1] + 4 }, 'policies'));
  for (const y of laneY) root.append(svg('line', { class: 'axis', x1: left - 10, x2: W - right, y1: y, y2: y }));
  const pos = new Map();
  all.forEach((v, i) => pos.set((v.lane ? 'policy:' : 'reward:') + v.version, { x: x(times[i]), y: laneY[v.lane] }));
  const edge = (from, to, dashed) => {
    const a = pos.get(from), b = pos.get(to);
    if (a && b) root.append(svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: '#94a3b8',
        'stroke-dasharray': dashed ? '3 3' : null, class: 'edge', 'data-from': from, 'data-to': to }));
  };
  for (const v of versions.reward) if (v.parentVersion !== null) edge('reward:' + v.parentVersion, 'reward:' + v.version);
  for (const v of versions.policy) {
    for (const p of v.parentVersions || []) edge('policy:' + p, 'policy:' + v.version);
    if (v.rewardModelVersion !== null) edge('reward:' + v.rewardModelVersion, 'policy:' + v.version, true);
  }
  all.forEach(v => {
    const kind = v.lane ? 'policy' : 'reward';
    const p = pos.get(kind + ':' + v.version);
    const dot = svg('circle', { class: 'version', cx: p.x, cy: p.y, r: 8, fill: STATUS_COLORS[v.status] || '#000',
        'data-kind': kind, 'data-version': v.version, 'data-status': v.status });
    dot.append(svg('title', {}, `${kind} v${v.version} ${v.status}${v.stage ? ' ' + v.stage : ''}`));
    root.append(dot);
    root.append(svg('text', { x: p.x - 8, y: p.y - 13 }, 'v' + v.version));
  });
  root.append(svg('text', { x: left, y: H - 6 }, fmtTime(t0)));
  root.append(svg('text', { x: W - right - 90, y: H - 6 }, fmtTime(t1)));
  box.append(root);
}

// ---- line charts ----------------------------------------------------------------------------------

function lineChart(boxId, series, yLabel) {
  const box = document.getElementById(boxId);
  box.replaceChildren();
  const points = series.flatMap(s => s.points);
  if (!points.length) {
    box.append(el('div', { class: 'empty' }, 'no data yet'));
    return;
  }
  const W = 520, H = 230, m = { l: 52, r: 12, t: 26, b: 34 };
  let x0 = Math.min(...points.map(p => p.x)), x1 = Math.max(...points.map(p => p.x));
  let y0 = Math.min(...points.map(p => p.y)), y1 = Math.max(...points.map(p => p.y));
  if (x1 === x0) { x0 -= 30000; x1 += 30000; }
  if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
  const pad = (y1 - y0) * 0.08; y0 -= pad; y1 += pad;
  const sx = v => m.l + (W - m.l - m.r) * (v - x0) / (x1 - x0);
  const sy = v => H - m.b - (H - m.t - m.b) * (v - y0) / (y1 - y0);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': yLabel });
  for (let i = 0; i <= 4; i++) {
    const v = y0 + (y1 - y0) * i / 4, y = sy(v);
    root.append(svg('line', { class: 'grid', x1: m.l, x2: W - m.r, y1: y, y2: y }));
    root.append(svg('text', { x: 4, y: y + 4 }, fmtNum(v)));
  }
  root.append(svg('line', { class: 'axis', x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }));
  root.append(svg('text', { x: m.l, y: H - 12 }, fmtTime(x0)));
  root.append(svg('text', { x: W - m.r - 90, y: H - 12 }, fmtTime(x1)));
  let legendX = m.l + 4;
  for (const s of series) {
    if (!s.points.length) continue;
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    const g = svg('g', { class: 'series', 'data-series': s.name, 'data-count': pts.length });
    if (!s.dotsOnly && pts.length > 1) {
      g.append(svg('polyline', { fill: 'none', stroke: s.color, 'stroke-width': 1.5,
          'stroke-dasharray': s.dashed ? '5 4' : null,
          points: pts.map(p => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ') }));
    }
    for (const p of pts) {
      const c = svg('circle', { class: 'pt', cx: sx(p.x).toFixed(1), cy: sy(p.y).toFixed(1), r: s.dotsOnly ? 4 : 2.5,
          fill: s.color, 'data-series': s.name, 'data-x': p.x, 'data-y': p.y,
          'data-version': p.version === null ? null : p.version, 'data-round': p.round === null ? null : p.round });
      c.append(svg('title', {}, `${s.label}: ${fmtNum(p.y)}${p.label ? ' (' + p.label + ')' : ''} · ${fmtTime(p.x)}`));
      g.append(c);
    }
    root.append(g);
    root.append(svg('rect', { x: legendX, y: 4, width: 10, height: 10, fill: s.color }));
    root.append(svg('text', { x: legendX + 14, y: 13 }, s.label));
    legendX += 24 + s.label.length * 6;
  }
  box.append(root);
}

function renderCharts(c) {
  lineChart('chart-rm', [
    { name: 'rm_accuracy', label: 'RM eval_accuracy (per version)', color: '#2563eb', points: c.rm_accuracy, dotsOnly: true },
    { name: 'rm_eval', label: 'RM eval (trainer)', color: '#7c3aed', points: c.rm_eval },
    { name: 'agreement', label: 'annotator agreement', color: '#f59e0b', points: c.agreement, dashed: true },
  ], 'accuracy');
  lineChart('chart-ppo-reward', [
    { name: 'ppo_mean_reward', label: 'mean reward', color: '#16a34a', points: c.ppo_mean_reward },
  ], 'mean reward');
  lineChart('chart-ppo-kl', [
    { name: 'ppo_kl', label: 'KL', color: '#dc2626', points: c.ppo_kl },
  ], 'KL');
  lineChart('chart-pairs', [
    { name: 'pair_throughput', label: 'pairs / s', color: '#0891b2', points: c.pair_throughput },
  ], 'pairs per second');
}

// ---- tables and control log -----------------------------------------------------------------------

function metricsText(m) {
  return Object.entries(m || {}).slice(0, 6).map(([k, v]) => `${k}=${fmtNum(v)}`).join('  ');
}

function renderTable(id, kind, versions) {
  const table = document.getElementById(id);
  const head = kind === 'policy'
      ? ['version', 'status', 'stage', 'parents', 'RM', 'created', 'metrics', 'artifact']
      : ['version', 'status', 'parent', 'comparison data', 'created', 'metrics', 'artifact'];
  const rows = [el('tr', {}, ...head.map(h => el('th', {}, h)))];
  for (const v of [...versions].sort((a, b) => b.version - a.version)) {
    const ranges = (v.trainingData || []).map(r => `${r.topic}[${r.partition}] ${r.fromOffset}–${r.untilOffset}`).join(', ');
    const artifact = el('a', { href: v.artifactUrl }, (v.artifactSha256 || '').slice(0, 12) || 'files');
    const cells = kind === 'policy'
        ? ['v' + v.version, el('span', { class: 'status status-' + v.status }, v.status), v.stage,
           (v.parentVersions || []).map(p => 'v' + p).join(', '), v.rewardModelVersion === null ? '' : 'v' + v.rewardModelVersion,
           v.createdAt ? fmtTime(Date.parse(v.createdAt)) : '', metricsText(v.metrics), artifact]
        : ['v' + v.version, el('span', { class: 'status status-' + v.status }, v.status),
           v.parentVersion === null ? '' : 'v' + v.parentVersion, ranges,
           v.createdAt ? fmtTime(Date.parse(v.createdAt)) : '', metricsText(v.metrics), artifact];
    rows.push(el('tr', { 'data-kind': kind, 'data-version': v.version, 'data-status': v.status },
        ...cells.map(c => el('td', {}, c))));
  }
  table.replaceChildren(...rows);
}

function renderControl(events) {
  const list = document.getElementById('control');
  list.replaceChildren(...[...events].reverse().map(e => el('li', { 'data-action': e.action },
      `${fmtTime(Date.parse(e.eventTime))} · ${e.action} ${e.kind} v${e.version} by ${e.requestedBy}`
      + (e.reason ? ` — ${e.reason}` : ''))));
  if (!events.length) list.append(el('li', { class: 'empty' }, 'no promote/rollback yet'));
}

// ---- polling --------------------------------------------------------------------------------------

async function refresh() {
  const status = document.getElementById('status');
  try {
    const response = await fetch('/api/dashboard', { cache: 'no-store' });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    const d = await response.json();
    renderLive(d.live);
    renderTimeline(d.versions);
    renderCharts(d.charts);
    renderTable('policy-table', 'policy', d.versions.policy);
    renderTable('reward-table', 'reward', d.versions.reward);
    renderControl(d.control);
    status.dataset.state = d.caughtUp ? 'ok' : 'replaying';
    status.dataset.revision = d.revision;
    status.textContent = (d.caughtUp ? 'updated ' : 'catching up… ') + new Date().toLocaleTimeString();
  } catch (e) {
    status.dataset.state = 'error';
    status.textContent = 'cannot reach the registry: ' + e.message;
  }
}

refresh();
setInterval(refresh, POLL_MS);
