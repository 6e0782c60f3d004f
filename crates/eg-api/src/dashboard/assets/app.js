// easegress-rs dashboard: reads and writes through the admin API of the origin that served it.
// Plain script, no build step, no dependencies. Charts are SVG drawn here.
'use strict';
(function () {
  const API = '/apis/v2';
  /** How much history a traffic chart shows. */
  const HISTORY_MS = 5 * 60 * 1000;
  /** The traffic view re-reads the object list (names to kinds) every this many polls. */
  const OBJECT_LIST_EVERY = 6;
  /** How many top paths a server card lists. */
  const TOP_PATHS = 8;
  const CHART_W = 300;
  const CHART_H = 110;
  const PAD = { left: 36, right: 6, top: 8, bottom: 16 };
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const VIEWS = ['objects', 'traffic', 'members', 'customdata', 'logs'];

  const $ = (id) => document.getElementById(id);

  /** An element with attributes (`text` sets its text) and children. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    return e;
  }

  /** Calls the API; resolves to {ok, status, data, text, message}. Never throws. */
  async function call(method, path, opts) {
    opts = opts || {};
    const headers = { Accept: opts.yaml ? 'application/yaml' : 'application/json' };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/yaml';
    let resp;
    try {
      resp = await fetch(API + path, {
        method, headers, body: opts.body, credentials: 'same-origin', cache: 'no-store',
      });
    } catch (e) {
      return { ok: false, status: 0, message: 'the server cannot be reached (' + e.message + ')' };
    }
    const text = await resp.text();
    let data = null;
    if ((resp.headers.get('Content-Type') || '').includes('json')) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    const message = resp.ok ? '' : (data && data.message) || text || resp.statusText;
    return { ok: resp.ok, status: resp.status, data, text, message };
  }

  function announce(msg) { $('announce').textContent = msg; }

  function problem(msg) {
    const p = $('problem');
    if (!msg) { p.hidden = true; p.textContent = ''; return; }
    p.textContent = msg;
    p.hidden = false;
  }

  /** Reads an answer's data, reporting a failure in the problem banner. */
  function must(r, what) {
    if (r.ok) return r.data;
    problem(what + ': ' + r.message);
    return null;
  }

  function fmt(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    const d = digits === undefined ? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2) : digits;
    return v.toFixed(d);
  }

  function clear(node, ...children) { node.replaceChildren(...children); }

  // ---------------------------------------------------------------- objects

  const objects = {
    list: [], kinds: [], statuses: {}, selected: null, renderedList: '',
  };

  /** Splits a status key `<namespace>/<name>/<member>`. */
  function statusKey(key) {
    const parts = key.split('/');
    if (parts.length < 3) return null;
    return { name: parts.slice(1, -1).join('/'), member: parts[parts.length - 1] };
  }

  function statusesOf(name) {
    const out = [];
    for (const [key, value] of Object.entries(objects.statuses)) {
      const k = statusKey(key);
      if (k && k.name === name) out.push({ member: k.member, value });
    }
    return out;
  }

  function summary(value) {
    if (!value || typeof value !== 'object') return 'no status';
    if (value.error) return 'error';
    return value.state || value.health || 'reported';
  }

  async function loadKinds() {
    const r = await call('GET', '/object-api-resources');
    const kinds = must(r, 'listing kinds');
    if (!kinds) return;
    objects.kinds = kinds;
    const select = $('kind-filter');
    const keep = select.value;
    clear(select, el('option', { value: '', text: 'All kinds' }),
      ...kinds.map((k) => el('option', { value: k.kind, text: k.kind })));
    select.value = keep;
  }

  async function refreshObjects() {
    const [list, status] = await Promise.all([call('GET', '/objects'), call('GET', '/status/objects')]);
    const l = must(list, 'listing objects');
    const s = must(status, 'reading statuses');
    if (l) objects.list = l;
    if (s) objects.statuses = s;
    if (l && s) problem('');
    renderObjectList();
    if (objects.selected) renderStatus(objects.selected);
  }

  function kindOrder() {
    const order = objects.kinds.map((k) => k.kind);
    for (const o of objects.list) if (!order.includes(o.kind)) order.push(o.kind);
    return order;
  }

  function renderObjectList() {
    const only = $('kind-filter').value;
    const groups = kindOrder().filter((k) => !only || k === only).map((kind) => ({
      kind,
      items: objects.list.filter((o) => o.kind === kind)
        .map((o) => ({ name: o.name, states: statusesOf(o.name).map((s) => s.member + ': ' + summary(s.value)) })),
    })).filter((g) => g.items.length);
    const model = JSON.stringify([groups, objects.selected]);
    if (model === objects.renderedList) return;
    objects.renderedList = model;
    const box = $('object-list');
    const hadFocus = box.contains(document.activeElement) && document.activeElement.dataset.name;
    const parts = [];
    if (!groups.length) parts.push(el('p', { class: 'muted', text: 'No objects.' }));
    for (const g of groups) {
      const id = 'kind-' + g.kind;
      parts.push(el('h4', { id }, g.kind + ' ', el('span', { class: 'muted', text: '(' + g.items.length + ')' })));
      const rows = g.items.map((o) => el('tr', {
        'data-name': o.name, 'data-kind': g.kind, 'aria-current': o.name === objects.selected ? 'true' : null,
      },
      el('td', {}, el('button', { type: 'button', class: 'link', 'data-name': o.name, text: o.name })),
      el('td', { text: o.states.join(', ') || '–' })));
      parts.push(el('table', { 'aria-labelledby': id },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Name' }), el('th', { scope: 'col', text: 'Status' }))),
        el('tbody', {}, ...rows)));
    }
    clear(box, ...parts);
    if (hadFocus) {
      const again = box.querySelector('button[data-name="' + CSS.escape(hadFocus) + '"]');
      if (again) again.focus();
    }
  }

  async function selectObject(name) {
    objects.selected = name;
    objects.renderedList = '';
    renderObjectList();
    const o = objects.list.find((x) => x.name === name);
    $('detail-title').textContent = (o ? o.kind + ' ' : '') + name;
    $('detail-help').hidden = true;
    $('delete').disabled = false;
    hideDeleteConfirm();
    renderStatus(name);
    const r = await call('GET', '/objects/' + encodeURIComponent(name), { yaml: true });
    const view = $('yaml-view');
    if (!r.ok) { problem('reading ' + name + ': ' + r.message); return; }
    $('object-yaml').textContent = r.text;
    clear(view, el('summary', { text: 'Stored YAML' }), $('object-yaml'),
      el('button', { type: 'button', id: 'edit-object', text: 'Edit in the editor' }));
    view.hidden = false;
    view.open = true;
    announce(name + ' selected');
  }

  function renderStatus(name) {
    const rows = statusesOf(name).map((s) => el('tr', {},
      el('th', { scope: 'row', text: s.member }),
      el('td', { text: summary(s.value) }),
      el('td', {}, el('details', {}, el('summary', { text: 'Full status' }),
        el('pre', { text: JSON.stringify(s.value, null, 2) })))));
    clear($('object-status'), rows.length
      ? el('table', {}, el('caption', { class: 'visually-hidden', text: 'Status of ' + name + ' per member' }),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Member' }), el('th', { scope: 'col', text: 'State' }), el('th', { scope: 'col', text: 'Details' }))),
        el('tbody', {}, ...rows))
      : el('p', { class: 'muted', text: 'No member reports a status for it yet.' }));
  }

  // ---------------------------------------------------------------- editor

  /** The lines of a YAML text as entries: sequence items and mapping keys with their indent. */
  function yamlEntries(text) {
    const out = [];
    text.split('\n').forEach((raw, i) => {
      const line = raw.replace(/\t/g, ' ');
      if (/^\s*(#.*)?$/.test(line) || /^(---|\.\.\.)\s*$/.test(line)) return;
      let indent = line.length - line.trimStart().length;
      let rest = line.slice(indent);
      while (rest === '-' || rest.startsWith('- ')) {
        out.push({ line: i + 1, indent, item: true });
        const after = rest.slice(1);
        const gap = after.length - after.trimStart().length;
        indent += 1 + gap;
        rest = after.trimStart();
        if (!rest) return;
      }
      const m = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s#'"][^#]*?)\s*:(?:\s|$)/.exec(rest);
      out.push({ line: i + 1, indent, key: m ? m[1].replace(/^["']|["']$/g, '') : null });
    });
    return out;
  }

  /** `rules[0].paths[1].backend` → ['rules', 0, 'paths', 1, 'backend']. */
  function pathTokens(path) {
    const out = [];
    for (const part of path.split('.')) {
      const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
      if (!m) return null;
      if (m[1]) out.push(m[1]);
      for (const ix of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(ix[1]));
    }
    return out;
  }

  /** The line of `path` in a YAML text: {line, exact}; the deepest part found when not all is. */
  function locate(text, path) {
    const es = yamlEntries(text);
    const toks = pathTokens(path) || [];
    let from = 0;
    let to = es.length;
    let line = es.length ? es[0].line : 1;
    for (let t = 0; t < toks.length; t++) {
      const tok = toks[t];
      if (from >= to) return { line, exact: false };
      let base = Infinity;
      for (let i = from; i < to; i++) base = Math.min(base, es[i].indent);
      let hit = -1;
      let seen = 0;
      for (let i = from; i < to && hit < 0; i++) {
        const e = es[i];
        if (e.indent !== base) continue;
        if (typeof tok === 'number' ? (e.item && seen++ === tok) : (!e.item && e.key === tok)) hit = i;
      }
      if (hit < 0) return { line, exact: false };
      const e = es[hit];
      let end = hit + 1;
      while (end < to && (e.item
        ? es[end].indent > e.indent
        : es[end].indent > e.indent || (es[end].indent === e.indent && es[end].item))) end++;
      line = e.line;
      from = hit + 1;
      to = end;
    }
    return { line, exact: true };
  }

  /** Where an API error points: {path} for `a.b[0].c: ...`, {line} for a YAML syntax error. */
  function errorTarget(message) {
    const lineCol = /\bline (\d+)(?: column (\d+))?/.exec(message);
    if (/^invalid YAML/.test(message) && lineCol) return { line: Number(lineCol[1]) };
    const m = /^([A-Za-z_$][\w$-]*(?:\[\d+\])*(?:\.[A-Za-z_$][\w$-]*(?:\[\d+\])*)*): /.exec(message);
    return m ? { path: m[1] } : null;
  }

  const editor = {
    area: () => $('yaml-editor'),
    errorLine: 0,
  };

  function lineHeight(area) {
    const cs = getComputedStyle(area);
    return { lh: parseFloat(cs.lineHeight) || 18, pad: parseFloat(cs.paddingTop) || 0 };
  }

  function syncGutter() {
    const area = editor.area();
    const n = area.value.split('\n').length;
    const g = $('gutter');
    if (g.dataset.lines !== String(n)) {
      g.dataset.lines = String(n);
      g.textContent = Array.from({ length: n }, (_, i) => i + 1).join('\n');
    }
    g.scrollTop = area.scrollTop;
    placeError();
  }

  function placeError() {
    if (!editor.errorLine) return;
    const area = editor.area();
    const { lh, pad } = lineHeight(area);
    const top = pad + (editor.errorLine - 1) * lh - area.scrollTop;
    $('error-mark').style.top = top + 'px';
    $('editor-error').style.top = (top + lh + 2) + 'px';
  }

  function clearFieldError() {
    editor.errorLine = 0;
    $('error-mark').hidden = true;
    const e = $('editor-error');
    e.hidden = true;
    e.textContent = '';
    delete e.dataset.line;
    delete e.dataset.path;
    editor.area().removeAttribute('aria-invalid');
  }

  /** Shows an API error on the line of the field it names. */
  function showFieldError(message) {
    const area = editor.area();
    const target = errorTarget(message);
    let line = 1;
    let exact = false;
    if (target && target.path) ({ line, exact } = locate(area.value, target.path));
    else if (target && target.line) { line = target.line; exact = true; }
    const first = message.split('\n')[0];
    const e = $('editor-error');
    e.textContent = (exact ? 'Line ' + line + ': ' : '') + first;
    e.dataset.line = String(line);
    if (target && target.path) e.dataset.path = target.path;
    e.hidden = false;
    $('error-mark').hidden = false;
    editor.errorLine = line;
    area.setAttribute('aria-invalid', 'true');
    // Scroll the line into view and put the caret on it.
    const { lh } = lineHeight(area);
    const want = (line - 1) * lh;
    if (want < area.scrollTop || want > area.scrollTop + area.clientHeight - 3 * lh) {
      area.scrollTop = Math.max(0, want - 2 * lh);
    }
    const lines = area.value.split('\n');
    const offset = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    area.focus();
    area.setSelectionRange(offset, offset + (lines[line - 1] || '').length);
    syncGutter();
  }

  /** The top-level `name:` of a YAML or JSON spec. */
  function specName(text) {
    const m = /^name:\s*["']?([^"'#\n]+?)["']?\s*(#.*)?$/m.exec(text) || /"name"\s*:\s*"([^"]+)"/.exec(text);
    return m ? m[1].trim() : '';
  }

  async function submitSpec(dryRun) {
    const text = editor.area().value;
    const result = $('editor-result');
    clearFieldError();
    result.className = '';
    result.textContent = dryRun ? 'Validating…' : 'Applying…';
    const name = specName(text);
    const exists = name && objects.list.some((o) => o.name === name);
    const suffix = dryRun ? '?dryRun=true' : '';
    const r = exists
      ? await call('PUT', '/objects/' + encodeURIComponent(name) + suffix, { body: text })
      : await call('POST', '/objects' + suffix, { body: text });
    if (!r.ok) {
      result.className = 'bad';
      result.textContent = (dryRun ? 'Not valid: ' : 'Not applied: ') + r.message.split('\n')[0];
      if (r.status === 400) showFieldError(r.message);
      return;
    }
    result.className = 'ok';
    const warnings = r.data && Array.isArray(r.data.warnings) && r.data.warnings.length
      ? ' (ignored: ' + r.data.warnings.join(', ') + ')' : '';
    if (dryRun) {
      result.textContent = name + ' is valid' + warnings + '.';
      return;
    }
    result.textContent = (exists ? 'Updated ' : 'Created ') + name + warnings + '.';
    await refreshObjects();
    if (name) await selectObject(name);
  }

  function hideDeleteConfirm() {
    const c = $('delete-confirm');
    c.hidden = true;
  }

  async function deleteSelected() {
    const name = objects.selected;
    if (!name) return;
    hideDeleteConfirm();
    const r = await call('DELETE', '/objects/' + encodeURIComponent(name));
    const result = $('editor-result');
    if (!r.ok) {
      result.className = 'bad';
      result.textContent = 'Not deleted: ' + r.message;
      return;
    }
    result.className = 'ok';
    result.textContent = 'Deleted ' + name + '.';
    objects.selected = null;
    $('detail-title').textContent = 'No object selected';
    $('detail-help').hidden = false;
    $('yaml-view').hidden = true;
    clear($('object-status'));
    $('delete').disabled = true;
    await refreshObjects();
    $('delete').focus();
  }

  function setupEditor() {
    const area = editor.area();
    area.addEventListener('input', () => { clearFieldError(); syncGutter(); });
    area.addEventListener('scroll', syncGutter);
    $('editor-form').addEventListener('submit', (ev) => { ev.preventDefault(); submitSpec(false); });
    $('validate').addEventListener('click', () => submitSpec(true));
    $('delete').addEventListener('click', () => {
      const c = $('delete-confirm');
      c.textContent = 'Really delete ' + objects.selected;
      c.hidden = false;
      c.focus();
    });
    $('delete-confirm').addEventListener('click', deleteSelected);
    $('delete-confirm').addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') { hideDeleteConfirm(); $('delete').focus(); }
    });
    $('new-object').addEventListener('click', () => {
      area.value = 'name: \nkind: Pipeline\nflow: []\nfilters: []\n';
      clearFieldError();
      syncGutter();
      area.focus();
      area.setSelectionRange(6, 6);
    });
    $('object-list').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-name]');
      if (b) selectObject(b.dataset.name);
    });
    $('yaml-view').addEventListener('click', (ev) => {
      if (ev.target.id !== 'edit-object') return;
      area.value = $('object-yaml').textContent;
      clearFieldError();
      syncGutter();
      area.focus();
    });
    $('kind-filter').addEventListener('change', () => { objects.renderedList = ''; renderObjectList(); });
    syncGutter();
  }

  // ---------------------------------------------------------------- charts

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  /** Draws time series into `svg`: series = [{cls, points: [[t, v], ...]}]. */
  function lineChart(svg, series, now, label) {
    let max = 0;
    for (const s of series) for (const [, v] of s.points) if (isFinite(v)) max = Math.max(max, v);
    max = niceMax(max);
    const x0 = PAD.left;
    const x1 = CHART_W - PAD.right;
    const y0 = CHART_H - PAD.bottom;
    const y1 = PAD.top;
    const x = (t) => x0 + (x1 - x0) * (1 - (now - t) / HISTORY_MS);
    const y = (v) => y0 - (y0 - y1) * (v / max);
    const parts = [];
    for (const f of [0, 0.5, 1]) {
      const yy = y(max * f);
      parts.push(svgEl('line', { class: 'grid', x1: x0, x2: x1, y1: yy, y2: yy }));
      parts.push(svgEl('text', { x: x0 - 4, y: yy + 3, 'text-anchor': 'end', text: fmt(max * f) }));
    }
    parts.push(svgEl('text', { x: x0, y: CHART_H - 3, text: '−5 min' }));
    parts.push(svgEl('text', { x: x1, y: CHART_H - 3, 'text-anchor': 'end', text: 'now' }));
    for (const s of series) {
      const shown = s.points.filter(([t, v]) => now - t <= HISTORY_MS && isFinite(v));
      const pts = shown.map(([t, v]) => x(t).toFixed(1) + ',' + y(v).toFixed(1)).join(' ');
      parts.push(svgEl('polyline', { class: s.cls, points: pts, 'data-series': s.name || s.cls }));
      const last = shown[shown.length - 1];
      if (last) parts.push(svgEl('circle', { class: s.cls, cx: x(last[0]).toFixed(1), cy: y(last[1]).toFixed(1), r: 2.5 }));
    }
    svg.replaceChildren(...parts);
    svg.setAttribute('aria-label', label);
  }

  /** Draws counts per status code as horizontal bars. */
  function barChart(svg, counts) {
    const entries = Object.entries(counts).sort((a, b) => a[0].localeCompare(b[0]));
    const row = 18;
    const h = Math.max(row, entries.length * row) + 4;
    svg.setAttribute('viewBox', '0 0 ' + CHART_W + ' ' + h);
    const max = Math.max(1, ...entries.map(([, n]) => n));
    const x0 = 36;
    const width = CHART_W - x0 - 60;
    const parts = [];
    entries.forEach(([code, n], i) => {
      const yy = 2 + i * row;
      parts.push(svgEl('text', { class: 'label', x: 0, y: yy + 12, text: code }));
      parts.push(svgEl('rect', {
        class: 'c' + code[0], x: x0, y: yy + 2, height: row - 6, width: Math.max(1, width * n / max),
      }));
      parts.push(svgEl('text', { class: 'label', x: x0 + width + 6, y: yy + 12, text: String(n) }));
    });
    if (!entries.length) parts.push(svgEl('text', { x: 0, y: 14, text: 'no requests yet' }));
    svg.replaceChildren(...parts);
    svg.setAttribute('aria-label', 'Responses by status code: ' +
      (entries.map(([c, n]) => c + ' ' + n).join(', ') || 'none yet'));
  }

  function chartFigure(caption, keys) {
    const svg = svgEl('svg', { class: 'chart', viewBox: '0 0 ' + CHART_W + ' ' + CHART_H, role: 'img', 'aria-label': caption });
    const cap = el('figcaption', {}, caption);
    for (const [cls, name] of keys || []) cap.append(el('span', { class: 'key ' + cls, 'aria-hidden': 'true' }), name);
    return { fig: el('figure', {}, cap, svg), svg };
  }

  // ---------------------------------------------------------------- traffic

  const traffic = { polls: 0, kinds: {}, series: {}, cards: {}, lastAt: 0 };

  function seriesOf(name) {
    if (!traffic.series[name]) traffic.series[name] = { prev: null, points: [], paths: {} };
    return traffic.series[name];
  }

  /** Adds a point computed from counters now and at the previous poll. */
  function sample(name, now, members) {
    const s = seriesOf(name);
    const prev = s.prev;
    s.prev = { at: now, members };
    let dCount = 0;
    let dErr = 0;
    let have = false;
    if (prev) {
      for (const [m, cur] of Object.entries(members)) {
        const before = prev.members[m];
        if (!before || cur.count < before.count) continue;
        have = true;
        dCount += cur.count - before.count;
        dErr += (cur.errCount || 0) - (before.errCount || 0);
      }
    }
    if (!have) return null;
    const dt = (now - prev.at) / 1000;
    if (!(dt > 0)) return null;
    const p = {
      t: now, rps: dCount / dt, errPct: dCount ? (100 * Math.max(0, dErr)) / dCount : 0,
    };
    s.points.push(p);
    while (s.points.length && now - s.points[0].t > HISTORY_MS) s.points.shift();
    return p;
  }

  function serverCard(name) {
    if (traffic.cards[name]) return traffic.cards[name];
    const id = 'traffic-' + name.replace(/[^\w-]/g, '_');
    const figure = (label, key) => el('div', {}, el('dt', { text: label }), el('dd', { 'data-metric': key, text: '–' }));
    const rps = chartFigure('Requests per second');
    const err = chartFigure('Error rate (%)');
    const lat = chartFigure('Latency (ms)', [['s0', 'p50'], ['s1', 'p99']]);
    const codes = chartFigure('Status codes (since start)');
    const paths = el('tbody');
    const card = el('article', { class: 'card', 'data-object': name, 'aria-labelledby': id },
      el('h4', { id, text: 'HTTPServer ' + name }),
      el('dl', { class: 'figures' }, figure('Requests/s', 'rps'), figure('Errors', 'errPct'),
        figure('p50 ms', 'p50'), figure('p99 ms', 'p99'), figure('Total', 'count')),
      el('div', { class: 'charts' }, rps.fig, err.fig, lat.fig, codes.fig),
      el('table', {}, el('caption', { class: 'visually-hidden', text: 'Top paths of ' + name }),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Top path' }), el('th', { scope: 'col', class: 'num', text: 'Requests' }),
          el('th', { scope: 'col', class: 'num', text: 'Req/s' }), el('th', { scope: 'col', class: 'num', text: 'Errors' }),
          el('th', { scope: 'col', class: 'num', text: 'p99 ms' }))),
        paths));
    traffic.cards[name] = { card, rps: rps.svg, err: err.svg, lat: lat.svg, codes: codes.svg, paths };
    return traffic.cards[name];
  }

  function pipelineCard(name) {
    if (traffic.cards[name]) return traffic.cards[name];
    const id = 'traffic-' + name.replace(/[^\w-]/g, '_');
    const rps = chartFigure('Requests per second');
    const card = el('article', { class: 'card', 'data-object': name, 'aria-labelledby': id },
      el('h4', { id, text: 'Pipeline ' + name }),
      el('dl', { class: 'figures' },
        el('div', {}, el('dt', { text: 'Requests/s' }), el('dd', { 'data-metric': 'rps', text: '–' })),
        el('div', {}, el('dt', { text: 'Total' }), el('dd', { 'data-metric': 'count', text: '–' }))),
      el('div', { class: 'charts' }, rps.fig));
    traffic.cards[name] = { card, rps: rps.svg };
    return traffic.cards[name];
  }

  function setMetric(card, key, text) {
    const dd = card.querySelector('[data-metric="' + key + '"]');
    if (dd && dd.textContent !== text) dd.textContent = text;
  }

  function updateServer(name, members, now) {
    const c = serverCard(name);
    const p = sample(name, now, members);
    const s = seriesOf(name);
    let p50 = 0;
    let p99 = 0;
    let count = 0;
    const codes = {};
    const paths = {};
    for (const st of Object.values(members)) {
      p50 = Math.max(p50, st.p50 || 0);
      p99 = Math.max(p99, st.p99 || 0);
      count += st.count || 0;
      for (const [code, n] of Object.entries(st.codes || {})) codes[code] = (codes[code] || 0) + n;
      for (const t of st.topN || []) {
        const q = paths[t.path] || (paths[t.path] = { count: 0, errCount: 0, p99: 0 });
        q.count += t.count || 0;
        q.errCount += t.errCount || 0;
        q.p99 = Math.max(q.p99, t.p99 || 0);
      }
    }
    if (p) { p.p50 = p50; p.p99 = p99; }
    const last = s.points[s.points.length - 1];
    setMetric(c.card, 'rps', last ? fmt(last.rps) : '–');
    setMetric(c.card, 'errPct', last ? fmt(last.errPct, 1) + ' %' : '–');
    setMetric(c.card, 'p50', fmt(p50));
    setMetric(c.card, 'p99', fmt(p99));
    setMetric(c.card, 'count', String(count));
    lineChart(c.rps, [{ cls: 's0', name: 'rps', points: s.points.map((q) => [q.t, q.rps]) }], now,
      'Requests per second of ' + name + ', latest ' + (last ? fmt(last.rps) : 'not known yet'));
    lineChart(c.err, [{ cls: 's1', name: 'errors', points: s.points.map((q) => [q.t, q.errPct]) }], now,
      'Error rate of ' + name + ' in percent, latest ' + (last ? fmt(last.errPct, 1) : 'not known yet'));
    lineChart(c.lat, [
      { cls: 's0', name: 'p50', points: s.points.filter((q) => 'p50' in q).map((q) => [q.t, q.p50]) },
      { cls: 's1', name: 'p99', points: s.points.filter((q) => 'p99' in q).map((q) => [q.t, q.p99]) },
    ], now, 'Latency of ' + name + ': p50 ' + fmt(p50) + ' ms, p99 ' + fmt(p99) + ' ms');
    barChart(c.codes, codes);
    const prevPaths = s.paths;
    const dt = s.prevPathsAt ? (now - s.prevPathsAt) / 1000 : 0;
    s.paths = paths;
    s.prevPathsAt = now;
    const top = Object.entries(paths).sort((a, b) => b[1].count - a[1].count).slice(0, TOP_PATHS);
    clear(c.paths, ...(top.length ? top.map(([path, q]) => {
      const before = prevPaths[path];
      const rate = before && dt > 0 && q.count >= before.count ? (q.count - before.count) / dt : null;
      return el('tr', {}, el('th', { scope: 'row', text: path }), el('td', { class: 'num', text: String(q.count) }),
        el('td', { class: 'num', text: fmt(rate) }), el('td', { class: 'num', text: String(q.errCount) }),
        el('td', { class: 'num', text: fmt(q.p99) }));
    }) : [el('tr', {}, el('td', { colspan: '5', class: 'muted', text: 'No requests yet.' }))]));
  }

  function updatePipeline(name, members, now) {
    const c = pipelineCard(name);
    const counted = {};
    let count = 0;
    for (const [m, st] of Object.entries(members)) {
      counted[m] = { count: st.requests || 0, errCount: 0 };
      count += st.requests || 0;
    }
    sample(name, now, counted);
    const s = seriesOf(name);
    const last = s.points[s.points.length - 1];
    setMetric(c.card, 'rps', last ? fmt(last.rps) : '–');
    setMetric(c.card, 'count', String(count));
    lineChart(c.rps, [{ cls: 's0', name: 'rps', points: s.points.map((q) => [q.t, q.rps]) }], now,
      'Requests per second of pipeline ' + name + ', latest ' + (last ? fmt(last.rps) : 'not known yet'));
  }

  async function refreshTraffic() {
    if (traffic.polls++ % OBJECT_LIST_EVERY === 0 || !objects.list.length) {
      const l = must(await call('GET', '/objects'), 'listing objects');
      if (l) objects.list = l;
    }
    const status = must(await call('GET', '/status/objects'), 'reading statuses');
    if (!status) return;
    problem('');
    objects.statuses = status;
    const kindOf = {};
    for (const o of objects.list) kindOf[o.name] = o.kind;
    const byName = {};
    for (const [key, value] of Object.entries(status)) {
      const k = statusKey(key);
      const kind = k && kindOf[k.name];
      if (kind !== 'HTTPServer' && kind !== 'Pipeline') continue;
      (byName[k.name] = byName[k.name] || { kind, members: {} }).members[k.member] = value;
    }
    const now = Date.now();
    const servers = [];
    const pipelines = [];
    for (const name of Object.keys(byName).sort()) {
      const o = byName[name];
      if (o.kind === 'HTTPServer') { updateServer(name, o.members, now); servers.push(traffic.cards[name].card); }
      else { updatePipeline(name, o.members, now); pipelines.push(traffic.cards[name].card); }
    }
    placeCards($('traffic-servers'), servers, 'No HTTPServer yet.');
    placeCards($('traffic-pipelines'), pipelines, 'No Pipeline yet.');
  }

  function placeCards(box, cards, none) {
    const same = cards.length === box.children.length && cards.every((c, i) => box.children[i] === c);
    if (!same) clear(box, ...(cards.length ? cards : [el('p', { class: 'muted', text: none })]));
  }

  // ---------------------------------------------------------------- members, custom data, logs

  async function refreshMembers() {
    const list = must(await call('GET', '/status/members'), 'reading members');
    if (!list) return;
    problem('');
    const rows = list.map((m) => {
      const o = m.options || {};
      const etcd = m.etcd || {};
      return el('tr', { 'data-member': o.Name },
        el('th', { scope: 'row', text: o.Name || '?' }),
        el('td', { text: o.ClusterRole || '' }),
        el('td', { text: etcd.state || '' }),
        el('td', { class: m.alive ? 'state-ok' : 'state-bad', text: m.alive ? 'alive' : 'not alive' }),
        el('td', { text: m.heartbeatAge || '–' }),
        el('td', { text: o.APIAddr || '' }),
        el('td', { text: etcd.startTime || '' }));
    });
    const head = ['Member', 'Role', 'State', 'Alive', 'Heartbeat age', 'API address', 'Started']
      .map((h) => el('th', { scope: 'col', text: h }));
    clear($('members'), el('table', {}, el('thead', {}, el('tr', {}, ...head)), el('tbody', {}, ...rows)));
  }

  const custom = { kind: null };

  async function refreshCustomData() {
    const kinds = must(await call('GET', '/customdatakinds'), 'listing custom data kinds');
    if (!kinds) return;
    problem('');
    const box = $('customdata-kinds');
    const focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement.dataset.kind : null;
    clear(box, kinds.length
      ? el('ul', {}, ...kinds.map((k) => el('li', {}, el('button', {
        type: 'button', class: 'link', 'data-kind': k.name, 'aria-pressed': String(k.name === custom.kind), text: k.name,
      }), k.idField ? el('span', { class: 'muted', text: ' (id: ' + k.idField + ')' }) : null)))
      : el('p', { class: 'muted', text: 'No custom data kinds.' }));
    if (focused) {
      const b = box.querySelector('button[data-kind="' + CSS.escape(focused) + '"]');
      if (b) b.focus();
    }
    if (custom.kind) await showCustomItems(custom.kind, kinds.find((k) => k.name === custom.kind));
  }

  async function showCustomItems(kind, info) {
    const items = must(await call('GET', '/customdata/' + encodeURIComponent(kind)), 'listing ' + kind);
    if (!items) return;
    const idField = (info && info.idField) || 'name';
    $('customdata-title').textContent = 'Items of ' + kind + ' (' + items.length + ')';
    clear($('customdata-items'), items.length
      ? el('table', {}, el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: idField }), el('th', { scope: 'col', text: 'Item' }))),
        el('tbody', {}, ...items.map((it) => el('tr', {}, el('th', { scope: 'row', text: String(it[idField] ?? '') }),
          el('td', {}, el('pre', { text: JSON.stringify(it, null, 2) }))))))
      : el('p', { class: 'muted', text: 'No items.' }));
  }

  async function refreshLogs() {
    const tail = $('log-tail').value;
    const r = await call('GET', '/logs?tail=' + encodeURIComponent(tail));
    if (!r.ok) { problem('reading the log: ' + r.message); return; }
    problem('');
    const pre = $('log-text');
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    if (pre.textContent !== r.text) pre.textContent = r.text;
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  }

  async function loadLevel() {
    const r = await call('GET', '/logs/level');
    if (r.ok) $('log-level').value = r.text.trim();
  }

  async function setLevel() {
    const level = $('log-level').value;
    const r = await call('PUT', '/logs/level/' + encodeURIComponent(level));
    if (r.ok) announce('Log level set to ' + r.text.trim());
    else { problem('setting the log level: ' + r.message); await loadLevel(); }
  }

  // ---------------------------------------------------------------- views and polling

  const refreshers = {
    objects: refreshObjects,
    traffic: refreshTraffic,
    members: refreshMembers,
    customdata: refreshCustomData,
    logs: refreshLogs,
  };
  let current = null;
  let timer = null;
  let running = null;
  let again = false;

  async function refresh() {
    if (!current) return null;
    // A view switched while a refresh runs gets its own right after it.
    if (running) { again = true; return running; }
    running = (async () => {
      try {
        await refreshers[current]();
        $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
        // When the first data was on screen, for page-load measurements.
        if (!performance.getEntriesByName('eg-first-data').length) performance.mark('eg-first-data');
      } finally {
        running = null;
        if (again) { again = false; refresh(); }
      }
    })();
    return running;
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    const every = Number($('poll').value);
    if (!every || document.hidden) return;
    timer = setTimeout(async () => { await refresh(); schedule(); }, every);
  }

  async function show(view, focus) {
    if (!VIEWS.includes(view)) view = 'objects';
    if (view === current) return;
    current = view;
    for (const v of VIEWS) $('view-' + v).hidden = v !== view;
    for (const a of document.querySelectorAll('nav a[data-view]')) {
      if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = $('h-' + view).textContent + ' · easegress-rs';
    if (focus) $('h-' + view).focus();
    if (view === 'logs') await loadLevel();
    await refresh();
    schedule();
  }

  function start() {
    for (const v of VIEWS) $('h-' + v).setAttribute('tabindex', '-1');
    setupEditor();
    $('customdata-kinds').addEventListener('click', async (ev) => {
      const b = ev.target.closest('button[data-kind]');
      if (!b) return;
      custom.kind = b.dataset.kind;
      await refreshCustomData();
    });
    $('log-refresh').addEventListener('click', refreshLogs);
    $('log-tail').addEventListener('change', refreshLogs);
    $('log-level').addEventListener('change', setLevel);
    $('poll').addEventListener('change', () => { announce('Refresh ' + $('poll').selectedOptions[0].text); schedule(); });
    document.addEventListener('visibilitychange', async () => {
      if (!document.hidden) await refresh();
      schedule();
    });
    window.addEventListener('hashchange', () => show(location.hash.slice(1), true));
    loadKinds().then(() => show(location.hash.slice(1), false));
  }

  // The pure helpers are reachable for checks from the browser console and tests.
  window.egDashboard = { locate, errorTarget, pathTokens, specName };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
