// tabler1 dashboard: curves of every metric grouped by the part of its name
// before the first "/", a rollout browser and the eval reports. Hand-written,
// drawn on canvas, no dependencies.
"use strict";

const $ = (s, el) => (el || document).querySelector(s);
const $$ = (s, el) => Array.from((el || document).querySelectorAll(s));
const params = new URLSearchParams(location.search);
const POLL_MS = Number(params.get("poll")) || 2000;
const COLORS = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#bf3989", "#6e7781"];
const GROUP_ORDER = ["critic", "actor", "paradigm", "fallback", "response_length", "prompt_length", "eval", "timing_s", "perf", "sandbox", "batch", "async"];
const GROUP_TITLE = {
  critic: "Reward and its components",
  actor: "Loss, KL, clip fraction, entropy, grad norm",
  paradigm: "Paradigms: program share, execution success, fallback",
  fallback: "Text fallback accounting",
  response_length: "Completion lengths",
  prompt_length: "Prompt lengths",
  eval: "Evaluation",
  timing_s: "Timing (seconds)",
  perf: "Throughput",
  sandbox: "Sandbox",
  batch: "Batch",
  async: "Asynchronous rollouts",
  other: "Other",
};

const state = {
  runs: [],
  shown: new Set(),
  data: [],          // per run: {rows, steps, stages, series}
  rolloutSteps: [],  // per run: sorted steps with a rollout log
  smooth: 0.6,
  filter: "",
  charts: new Map(), // metric name -> canvas
  tab: "curves",
  r: { run: 0, step: null, offset: 0, limit: 50, sel: null },
};

function esc(s) {
  return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function fmt(v) {
  if (v == null || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}
async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": " + r.status + " " + (await r.text()));
  return r.json();
}
function groupOf(name) {
  const i = name.indexOf("/");
  return i < 0 ? "other" : name.slice(0, i);
}

// ---------- data ----------

async function pollMetrics(ri) {
  const d = state.data[ri];
  const page = await getJSON(`api/metrics?run=${ri}&since=${d.reset ? 0 : d.rows}`);
  if (page.reset || d.reset) {
    d.steps = []; d.stages = []; d.series = {}; d.rows = 0; d.reset = false;
  }
  const n = page.steps.length;
  if (n === 0 && !page.reset) return false;
  const before = d.steps.length;
  d.steps.push(...page.steps);
  d.stages.push(...page.stages);
  for (const [k, vals] of Object.entries(page.series)) {
    if (!d.series[k]) d.series[k] = new Array(before).fill(null);
    d.series[k].push(...vals);
  }
  for (const k of Object.keys(d.series)) {
    while (d.series[k].length < d.steps.length) d.series[k].push(null);
  }
  d.rows = page.rows;
  return true;
}

async function pollSteps(ri) {
  const r = await getJSON(`api/steps?run=${ri}`);
  state.rolloutSteps[ri] = r.steps;
}

async function poll() {
  let changed = false;
  try {
    for (let ri = 0; ri < state.runs.length; ri++) {
      if (await pollMetrics(ri)) changed = true;
      await pollSteps(ri);
    }
    $("#status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("#status").textContent = "error: " + e.message;
  }
  if (changed) drawCurves();
  if (state.tab === "rollouts") refreshStepList();
}

// ---------- curves ----------

function smoothed(vals, w) {
  // TensorBoard's debiased exponential moving average.
  const out = new Array(vals.length).fill(null);
  let last = 0, n = 0;
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i];
    if (v == null || !Number.isFinite(v)) continue;
    last = last * w + (1 - w) * v;
    n++;
    out[i] = w === 0 ? v : last / (1 - Math.pow(w, n));
  }
  return out;
}

function metricNames() {
  const names = new Set();
  for (const ri of state.shown) for (const k of Object.keys(state.data[ri].series)) names.add(k);
  return Array.from(names).sort();
}

function drawCurves() {
  const root = $("#groups");
  const names = metricNames().filter(n => !state.filter || n.includes(state.filter));
  const groups = new Map();
  for (const n of names) {
    const g = groupOf(n);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(n);
  }
  const order = Array.from(groups.keys()).sort((a, b) => {
    const ia = GROUP_ORDER.indexOf(a), ib = GROUP_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  for (const g of order) {
    let sec = $(`.group[data-group="${CSS.escape(g)}"]`, root);
    if (!sec) {
      sec = document.createElement("div");
      sec.className = "group";
      sec.dataset.group = g;
      sec.innerHTML = `<h2>${esc(GROUP_TITLE[g] || g)} <span class="n">(${esc(g)}/)</span></h2><div class="charts"></div>`;
      $("h2", sec).onclick = () => sec.classList.toggle("closed");
      root.appendChild(sec);
    }
    const box = $(".charts", sec);
    for (const n of groups.get(g)) {
      let c = state.charts.get(n);
      if (!c) {
        const card = document.createElement("div");
        card.className = "card";
        card.innerHTML = `<h3 title="${esc(n)}">${esc(n)}</h3>`;
        c = document.createElement("canvas");
        c.className = "chart";
        c.dataset.metric = n;
        c.onmousemove = ev => hover(c, ev);
        c.onmouseleave = () => $("#tip").classList.add("hidden");
        c.onclick = ev => clickChart(c, ev);
        card.appendChild(c);
        box.appendChild(card);
        state.charts.set(n, c);
      }
      c.parentElement.classList.remove("hidden");
      drawChart(c, n);
    }
  }
  // Keep the page order stable: groups in order, charts by name.
  for (const g of order) root.appendChild($(`.group[data-group="${CSS.escape(g)}"]`, root));
  for (const [n, c] of state.charts) if (!names.includes(n)) c.parentElement.classList.add("hidden");
  for (const sec of $$(".group", root)) sec.classList.toggle("hidden", !groups.has(sec.dataset.group));
}

const PAD = { l: 46, r: 8, t: 14, b: 18 };

function chartGeom(c, name) {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const ri of state.shown) {
    const d = state.data[ri], vals = d.series[name];
    if (!vals) continue;
    for (let i = 0; i < vals.length; i++) {
      const v = vals[i];
      if (v == null || !Number.isFinite(v)) continue;
      x0 = Math.min(x0, d.steps[i]); x1 = Math.max(x1, d.steps[i]);
      y0 = Math.min(y0, v); y1 = Math.max(y1, v);
    }
  }
  if (x0 === Infinity) return null;
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { const p = Math.abs(y0) * 0.1 || 1; y0 -= p; y1 += p; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const w = c.clientWidth, h = c.clientHeight;
  return {
    x0, x1, y0, y1, w, h,
    X: s => PAD.l + (s - x0) / (x1 - x0) * (w - PAD.l - PAD.r),
    Y: v => h - PAD.b - (v - y0) / (y1 - y0) * (h - PAD.t - PAD.b),
    S: px => x0 + (px - PAD.l) / (w - PAD.l - PAD.r) * (x1 - x0),
  };
}

function drawChart(c, name) {
  const dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth || 340, h = c.clientHeight || 180;
  if (c.width !== w * dpr || c.height !== h * dpr) { c.width = w * dpr; c.height = h * dpr; }
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const g = chartGeom(c, name);
  let points = 0;
  if (!g) { c.dataset.points = "0"; return; }
  // Axes and labels.
  ctx.strokeStyle = "#d0d7de"; ctx.fillStyle = "#6e7781"; ctx.font = "10px system-ui"; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(PAD.l, PAD.t); ctx.lineTo(PAD.l, h - PAD.b); ctx.lineTo(w - PAD.r, h - PAD.b); ctx.stroke();
  for (let k = 0; k <= 3; k++) {
    const v = g.y0 + (g.y1 - g.y0) * k / 3, y = g.Y(v);
    ctx.fillText(fmt(v), 2, y + 3);
    ctx.strokeStyle = "#eaeef2"; ctx.beginPath(); ctx.moveTo(PAD.l + 1, y); ctx.lineTo(w - PAD.r, y); ctx.stroke();
  }
  ctx.fillText(String(Math.round(g.x0)), PAD.l, h - 5);
  const xr = String(Math.round(g.x1));
  ctx.fillText(xr, w - PAD.r - ctx.measureText(xr).width, h - 5);
  // Stage boundaries of the first shown run, labelled with the new stage.
  const first = state.data[Array.from(state.shown)[0]];
  if (first) {
    ctx.setLineDash([3, 3]); ctx.strokeStyle = "#8c959f"; ctx.fillStyle = "#57606a";
    for (let i = 1; i < first.steps.length; i++) {
      if (first.stages[i] === first.stages[i - 1]) continue;
      const s = (first.steps[i] + first.steps[i - 1]) / 2;
      if (s < g.x0 || s > g.x1) continue;
      const x = g.X(s);
      ctx.beginPath(); ctx.moveTo(x, PAD.t); ctx.lineTo(x, h - PAD.b); ctx.stroke();
      ctx.fillText(first.stages[i], x + 3, PAD.t - 3);
    }
    ctx.setLineDash([]);
  }
  // Curves: the raw one faint, the smoothed one over it.
  const maxPts = Math.max(200, 2 * w);
  for (const ri of state.shown) {
    const d = state.data[ri], vals = d.series[name];
    if (!vals) continue;
    const color = COLORS[ri % COLORS.length];
    const lines = state.smooth > 0 ? [[vals, 0.25], [smoothed(vals, state.smooth), 1]] : [[vals, 1]];
    for (const [ys, alpha] of lines) {
      const stride = Math.max(1, Math.floor(ys.length / maxPts));
      ctx.globalAlpha = alpha; ctx.strokeStyle = color; ctx.lineWidth = alpha < 1 ? 1 : 1.6;
      ctx.beginPath();
      let pen = false, n = 0;
      for (let i = 0; i < ys.length; i += stride) {
        const v = ys[i];
        if (v == null || !Number.isFinite(v)) { pen = false; continue; }
        const x = g.X(d.steps[i]), y = g.Y(v);
        if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        pen = true; n++;
      }
      if (n === 1) { // a single point: a dot
        ctx.fillStyle = color;
        const i = ys.findIndex(v => v != null);
        ctx.fillRect(g.X(d.steps[i]) - 2, g.Y(ys[i]) - 2, 4, 4);
      }
      ctx.stroke();
      if (alpha === 1) points += n;
    }
    ctx.globalAlpha = 1;
  }
  c.dataset.points = String(points);
}

function nearest(c, ev) {
  const g = chartGeom(c, c.dataset.metric);
  if (!g) return null;
  const r = c.getBoundingClientRect();
  const s = g.S(ev.clientX - r.left);
  const out = [];
  for (const ri of state.shown) {
    const d = state.data[ri], vals = d.series[c.dataset.metric];
    if (!vals) continue;
    let best = -1;
    for (let i = 0; i < vals.length; i++) {
      if (vals[i] == null) continue;
      if (best < 0 || Math.abs(d.steps[i] - s) < Math.abs(d.steps[best] - s)) best = i;
    }
    if (best >= 0) out.push({ ri, step: d.steps[best], stage: d.stages[best], v: vals[best] });
  }
  return out;
}

function hover(c, ev) {
  const pts = nearest(c, ev);
  const tip = $("#tip");
  if (!pts || !pts.length) { tip.classList.add("hidden"); return; }
  tip.textContent = c.dataset.metric + "\n" + pts.map(p => `${state.runs[p.ri].name}  step ${p.step} (${p.stage})  ${fmt(p.v)}`).join("\n");
  tip.style.left = ev.clientX + 14 + "px";
  tip.style.top = ev.clientY + 10 + "px";
  tip.classList.remove("hidden");
}

function clickChart(c, ev) {
  const pts = nearest(c, ev);
  if (!pts || !pts.length) return;
  openRollouts(pts[0].ri, pts[0].step);
}

// ---------- rollouts ----------

function nearestRolloutStep(ri, step) {
  const steps = state.rolloutSteps[ri] || [];
  if (!steps.length) return null;
  let best = steps[0];
  for (const s of steps) if (Math.abs(s - step) < Math.abs(best - step)) best = s;
  return best;
}

function openRollouts(ri, step) {
  state.r.run = ri;
  state.r.step = nearestRolloutStep(ri, step);
  state.r.offset = 0;
  state.r.sel = null;
  $("#r-run").value = String(ri);
  setTab("rollouts");
}

function refreshStepList() {
  const sel = $("#r-step"), steps = state.rolloutSteps[state.r.run] || [];
  if (sel.options.length !== steps.length) {
    sel.innerHTML = steps.map(s => `<option value="${s}">${s}</option>`).join("");
  }
  if (state.r.step == null && steps.length) state.r.step = steps[steps.length - 1];
  if (state.r.step != null) sel.value = String(state.r.step);
}

function filterQuery() {
  const q = new URLSearchParams({ run: state.r.run, step: state.r.step, offset: state.r.offset, limit: state.r.limit });
  const add = (k, v) => { if (v !== "" && v != null) q.set(k, v); };
  add("paradigm", $("#f-paradigm").value);
  add("status", $("#f-status").value);
  add("min", $("#f-min").value);
  add("max", $("#f-max").value);
  add("penalty", $("#f-penalty").value);
  if ($("#f-zerovar").checked) q.set("zerovar", "1");
  return q.toString();
}

async function loadRollouts() {
  refreshStepList();
  const body = $("#r-list tbody");
  if (state.r.step == null) {
    body.innerHTML = "";
    $("#r-summary").textContent = "This run has no rollout logs (logging.rollout_log, GRPO stages).";
    return;
  }
  let p;
  try {
    p = await getJSON("api/rollouts?" + filterQuery());
  } catch (e) {
    $("#r-summary").textContent = e.message;
    return;
  }
  const st = $("#f-status"), cur = st.value;
  st.innerHTML = `<option value="">any</option>` + p.statuses.map(s => `<option>${esc(s)}</option>`).join("");
  st.value = p.statuses.includes(cur) ? cur : "";
  $("#r-summary").textContent = `step ${p.step}: ${p.matched} of ${p.total} samples match`;
  $("#r-page").textContent = p.matched ? `${p.offset + 1}–${p.offset + p.samples.length} of ${p.matched}` : "none";
  $("#r-pgprev").disabled = p.offset === 0;
  $("#r-pgnext").disabled = p.offset + p.samples.length >= p.matched;
  let html = "", group = null;
  for (const s of p.samples) {
    if (s.group !== group) {
      group = s.group;
      html += `<tr class="grouprow"><td colspan="7">group ${group} · ${esc(s.item_id)}${s.zero_variance ? " · zero variance" : ""}</td></tr>`;
    }
    const cls = s.correct ? "ok" : "bad";
    html += `<tr class="sample${state.r.sel === s.i ? " sel" : ""}" data-i="${s.i}">
      <td>${s.i}</td><td>${esc(s.paradigm)}</td><td>${esc(s.status)}</td>
      <td class="${cls}">${fmt(s.reward)}</td><td>${fmt(s.advantage)}</td>
      <td>${esc(s.answer)}</td><td>${(s.penalties || []).map(x => `<span class="pill bad">${esc(x)}</span>`).join("")}</td></tr>`;
  }
  body.innerHTML = html;
  for (const tr of $$("tr.sample", body)) tr.onclick = () => openSample(Number(tr.dataset.i));
}

const PY_KW = new Set("False None True and as assert break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield".split(" "));

function highlight(code) {
  const re = /(#[^\n]*)|("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|\b(\d+(?:\.\d+)?)\b|\b([A-Za-z_]\w*)\b(\s*\()?/g;
  let out = "", last = 0, m;
  while ((m = re.exec(code))) {
    out += esc(code.slice(last, m.index));
    if (m[1]) out += `<span class="com">${esc(m[1])}</span>`;
    else if (m[2]) out += `<span class="str">${esc(m[2])}</span>`;
    else if (m[3]) out += `<span class="num">${esc(m[3])}</span>`;
    else if (PY_KW.has(m[4])) out += `<span class="kw">${esc(m[4])}</span>${esc(m[5] || "")}`;
    else if (m[5]) out += `<span class="fn">${esc(m[4])}</span>${esc(m[5])}`;
    else out += esc(m[4]);
    last = re.lastIndex;
  }
  return out + esc(code.slice(last));
}

// previewTable reads the table lines of a prompt (rows of "|"-separated
// cells, the compact template, or markdown tables) into a table.
function previewTable(prompt) {
  const rows = [];
  const other = [];
  for (const line of prompt.split("\n")) {
    if (line.includes("|") && !/^\s*\|?\s*:?-{3,}/.test(line)) {
      rows.push(line.replace(/^\s*\|/, "").replace(/\|\s*$/, "").split("|").map(c => c.trim()));
    } else if (line.trim()) other.push(line);
  }
  if (!rows.length) return `<pre>${esc(prompt)}</pre>`;
  let html = `<table class="preview"><thead><tr>${rows[0].map(c => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>`;
  for (const r of rows.slice(1)) html += `<tr>${r.map(c => `<td>${esc(c)}</td>`).join("")}</tr>`;
  html += "</tbody></table>";
  if (other.length) html += `<pre>${esc(other.join("\n"))}</pre>`;
  return html;
}

async function openSample(i) {
  state.r.sel = i;
  for (const tr of $$("#r-list tr.sample")) tr.classList.toggle("sel", Number(tr.dataset.i) === i);
  const el = $("#r-detail");
  let s;
  try {
    s = await getJSON(`api/sample?run=${state.r.run}&step=${state.r.step}&i=${i}`);
  } catch (e) {
    el.textContent = e.message;
    return;
  }
  const ex = s.exec || null, det = s.detail || {};
  const comps = Object.entries(s.components || {});
  let h = `<div id="sample" data-i="${i}"><b>step ${s.step} · sample ${i} · group ${s.group}</b> · ${esc(s.item_id)}
    <div><span class="pill">${esc(s.paradigm)}</span>${ex ? `<span class="pill ${ex.status === "ok" ? "ok" : "bad"}">${esc(ex.status)}</span>` : ""}
    <span class="pill ${s.correct ? "ok" : "bad"}">${s.correct ? "correct" : "wrong"}</span>
    ${det.computes_nothing ? `<span class="pill bad">computes nothing: ${esc(det.computes_nothing)}</span>` : ""}
    ${det.needs_table ? `<span class="pill bad">needs the table: ${esc(det.needs_table)}</span>` : ""}</div>`;
  h += `<h4>Table preview (prompt)</h4>${previewTable(s.prompt || "")}`;
  h += `<h4>Completion</h4><pre>${esc(s.text)}</pre>`;
  if (s.code) h += `<h4>Program</h4><pre class="code" id="program">${highlight(s.code)}</pre>`;
  if (ex) {
    h += `<h4>Sandbox</h4><table class="kv"><tr><td>status</td><td>${esc(ex.status)}</td></tr>`;
    if (ex.detail) h += `<tr><td>detail</td><td>${esc(ex.detail)}</td></tr>`;
    if (ex.exception_type) h += `<tr><td>exception</td><td>${esc(ex.exception_type)} (line ${ex.error_line || "?"})</td></tr>`;
    h += `<tr><td>wall</td><td>${fmt((ex.wall_ns || 0) / 1e6)} ms</td></tr>${ex.reused ? "<tr><td>reused</td><td>identical program's result</td></tr>" : ""}</table>`;
    h += `<h4>stdout</h4><pre>${esc(ex.stdout)}</pre>`;
    if (ex.stderr) h += `<h4>stderr</h4><pre>${esc(ex.stderr)}</pre>`;
  }
  h += `<h4>Answer</h4><table class="kv"><tr><td>extracted</td><td class="${s.correct ? "ok" : "bad"}">${esc(s.extracted)}</td></tr>
    <tr><td>gold</td><td>${esc((s.gold || []).join(" | "))}</td></tr></table>`;
  h += `<h4>Reward</h4><table class="kv" id="components">`;
  for (const [k, v] of comps) h += `<tr><td>${esc(k)}</td><td class="${v < 0 ? "bad" : ""}">${fmt(v)}</td></tr>`;
  h += `<tr><td><b>reward</b></td><td><b>${fmt(s.reward)}</b></td></tr><tr><td><b>advantage</b></td><td><b>${fmt(s.advantage)}</b></td></tr></table></div>`;
  el.innerHTML = h;
}

// ---------- evals ----------

async function loadEvals() {
  let html = "";
  for (const ri of state.shown) {
    const reps = await getJSON(`api/evals?run=${ri}`);
    html += `<h2>${esc(state.runs[ri].name)}</h2>`;
    if (!reps.length) html += `<p class="muted">No eval reports (report.json) in ${esc(state.runs[ri].dir)}. Evaluation curves, when the run evaluates during training, are in the Curves tab under eval/.</p>`;
    for (const r of reps) {
      const keys = Array.from(new Set(r.benchmarks.flatMap(b => Object.keys(b.metrics || {})))).sort();
      html += `<div class="report"><b>${esc(r.path)}</b> ${r.meta ? `<span class="muted">${esc(Object.entries(r.meta).map(([k, v]) => k + "=" + v).join(" "))}</span>` : ""}
        <table class="evals"><tr><th>benchmark</th><th>n</th>${keys.map(k => `<th>${esc(k)}</th>`).join("")}</tr>`;
      for (const b of r.benchmarks) html += `<tr><td>${esc(b.benchmark)}</td><td>${b.n}</td>${keys.map(k => `<td>${fmt((b.metrics || {})[k])}</td>`).join("")}</tr>`;
      html += `</table></div>`;
    }
  }
  $("#evals").innerHTML = html;
}

// ---------- shell ----------

function setTab(t) {
  state.tab = t;
  for (const b of $$("nav .tab")) b.classList.toggle("active", b.dataset.tab === t);
  for (const v of $$(".view")) v.classList.toggle("hidden", v.id !== "view-" + t);
  if (t === "curves") drawCurves();
  if (t === "rollouts") loadRollouts();
  if (t === "evals") loadEvals();
}

async function main() {
  state.runs = await getJSON("api/runs");
  state.data = state.runs.map(() => ({ rows: 0, steps: [], stages: [], series: {}, reset: false }));
  state.rolloutSteps = state.runs.map(() => []);
  state.runs.forEach((_, i) => state.shown.add(i));
  $("#runs").innerHTML = state.runs.map((r, i) =>
    `<label><input type="checkbox" data-run="${i}" checked><span class="swatch"></span>${esc(r.name)}</label>`).join("");
  // Colours set through the CSSOM: the page's CSP allows no inline style.
  $$("#runs .swatch").forEach((el, i) => { el.style.background = COLORS[i % COLORS.length]; });
  for (const cb of $$("#runs input")) cb.onchange = () => {
    const i = Number(cb.dataset.run);
    if (cb.checked) state.shown.add(i); else state.shown.delete(i);
    setTab(state.tab);
  };
  $("#r-run").innerHTML = state.runs.map((r, i) => `<option value="${i}">${esc(r.name)}</option>`).join("");
  for (const b of $$("nav .tab")) b.onclick = () => setTab(b.dataset.tab);
  $("#smooth").oninput = e => { state.smooth = Number(e.target.value); $("#smooth-val").textContent = state.smooth.toFixed(2); drawCurves(); };
  $("#metric-filter").oninput = e => { state.filter = e.target.value.trim(); drawCurves(); };
  $("#r-run").onchange = e => { state.r.run = Number(e.target.value); state.r.step = null; state.r.offset = 0; loadRollouts(); };
  $("#r-step").onchange = e => { state.r.step = Number(e.target.value); state.r.offset = 0; loadRollouts(); };
  const stepBy = k => {
    const steps = state.rolloutSteps[state.r.run] || [], i = steps.indexOf(state.r.step);
    if (i + k >= 0 && i + k < steps.length) { state.r.step = steps[i + k]; state.r.offset = 0; loadRollouts(); }
  };
  $("#r-prev").onclick = () => stepBy(-1);
  $("#r-next").onclick = () => stepBy(1);
  for (const id of ["#f-paradigm", "#f-status", "#f-min", "#f-max", "#f-zerovar", "#f-penalty"]) $(id).onchange = () => { state.r.offset = 0; loadRollouts(); };
  $("#r-pgprev").onclick = () => { state.r.offset = Math.max(0, state.r.offset - state.r.limit); loadRollouts(); };
  $("#r-pgnext").onclick = () => { state.r.offset += state.r.limit; loadRollouts(); };
  window.onresize = () => drawCurves();
  await poll();
  const t = params.get("tab");
  if (t) setTab(t);
  setInterval(poll, POLL_MS);
}

main().catch(e => { $("#status").textContent = "error: " + e.message; });
