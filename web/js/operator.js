/* operator.js — the operators' console: sign in with a token (kept in sessionStorage
 * only), draw or pick a closure, blocked area or service, edit it and submit through the
 * OGC API Part 4 endpoints. Errors appear next to the field they name; a 412 offers to
 * reload and retry; the feature's recent history is listed. */
'use strict';

(() => {
  const EDITABLE = ['closures', 'blocked_areas', 'services'];
  const SERVER_OWNED = ['created', 'updated', 'updated_by', 'version'];
  const st = { map: null, token: sessionStorage.getItem('cm-token'), who: null, schemas: {}, groups: {}, layers: {},
    current: null /* {layer, id, etag, feature, drawn} */ };

  const $ = (id) => document.getElementById(id);

  function auth() { return { Authorization: 'Bearer ' + st.token }; }

  async function signIn(token) {
    const r = await CM.getJSON('/api/whoami', { headers: { Authorization: 'Bearer ' + token } });
    if (r.status !== 200) {
      $('signin-error').textContent = CM.t('sign_in_failed', { why: r.body ? r.body.description : r.status });
      sessionStorage.removeItem('cm-token');
      st.token = null;
      return false;
    }
    st.token = token;
    st.who = r.body;
    sessionStorage.setItem('cm-token', token);
    $('signin-error').textContent = '';
    showWho();
    return true;
  }

  function showWho() {
    const signed = !!st.who;
    $('signin').hidden = signed;
    $('who').hidden = !signed;
    $('signout').hidden = !signed;
    if (signed) $('who').textContent = CM.t('signed_in_as', { name: st.who.name, role: CM.t('role_' + st.who.role) });
    $('draw-closure').disabled = !(signed && st.who.may_edit.includes('closures'));
    $('draw-area').disabled = !(signed && st.who.may_edit.includes('blocked_areas'));
  }

  async function loadSchemas() {
    for (const l of EDITABLE) {
      const r = await CM.getJSON('/api/collections/' + l + '/schema');
      st.schemas[l] = r.body.properties.properties.properties;
    }
  }

  function fillSelect(sel, values, prefix, current) {
    sel.replaceChildren();
    const none = document.createElement('option');
    none.value = '';
    none.textContent = '—';
    sel.append(none);
    for (const v of values || []) {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = CM.t(prefix + v);
      sel.append(o);
    }
    sel.value = current || '';
  }

  /* datetime-local works in local time without a zone; the API speaks UTC. */
  function toLocalInput(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }
  function fromLocalInput(v) { return v ? new Date(v).toISOString().replace('.000Z', 'Z') : null; }

  function clearErrors() {
    for (const el of document.querySelectorAll('.field-error[data-field]')) el.textContent = '';
    $('form-error').textContent = '';
    $('form-ok').textContent = '';
    $('conflict').hidden = true;
  }

  /* Puts an API error next to the field it names. */
  function showError(body, status) {
    if (status === 412) {
      $('conflict').hidden = false;
      return;
    }
    const field = body && body.field ? body.field : '';
    const msg = body && body.description ? body.description : String(status);
    let slot = document.querySelector('.field-error[data-field="' + CSS.escape(field) + '"]');
    if (!slot && field.startsWith('geometry')) slot = document.querySelector('.field-error[data-field="geometry"]');
    if (slot) slot.textContent = msg;
    else $('form-error').textContent = CM.t('error_generic', { why: msg });
  }

  function openEditor(layer, feature, etag, drawn) {
    clearErrors();
    if (st.current && st.current.editing) st.current.editing.pm.disable();
    st.current = { layer, id: feature.id, etag, feature, drawn, editing: null };
    const p = feature.properties || {};
    const zone = layer !== 'services';
    for (const el of document.querySelectorAll('.only-zone')) el.hidden = !zone;
    for (const el of document.querySelectorAll('.only-closure')) el.hidden = layer !== 'closures';
    for (const el of document.querySelectorAll('.only-service')) el.hidden = layer !== 'services';
    const sch = st.schemas[layer];
    if (zone) {
      $('f-name').value = p.name || '';
      $('f-name_ar').value = p.name_ar || '';
      fillSelect($('f-reason'), sch.reason.enum, 'r_', p.reason);
      fillSelect($('f-severity'), sch.severity.enum, 'sev_', p.severity);
      if (sch.direction) fillSelect($('f-direction'), sch.direction.enum, 'dir_', p.direction);
      $('f-valid_from').value = toLocalInput(p.valid_from);
      $('f-valid_until').value = toLocalInput(p.valid_until);
      $('f-description_en').value = p.description_en || '';
      $('f-description_ar').value = p.description_ar || '';
    } else {
      fillSelect($('f-status'), sch.status.enum, 'st_', p.status);
      $('f-capacity').value = p.capacity ?? '';
      $('f-occupancy').value = p.occupancy ?? '';
    }
    $('panel-title').textContent = feature.id ? (layer === 'services' ? CM.t('service_edit', { id: feature.id })
      : CM.t('edit_feature', { layer: CM.t('layer_' + layer), id: feature.id })) : CM.t('new_feature', { layer: CM.t('layer_' + layer) });
    $('lift').hidden = !(feature.id && layer === 'closures' && p.status !== 'lifted');
    $('verify').hidden = !feature.id;
    $('editor').hidden = false;
    if (feature.id && zone) {
      const l = st.layers[layer].get(feature.id);
      if (l && l.pm) {
        l.pm.enable({ allowSelfIntersection: false });
        st.current.editing = l;
      }
    }
    loadHistory();
  }

  // A known key's translation, or the server's own word.
  function translated(key, fallback) {
    const s = CM.t(key);
    return s === key ? fallback : s;
  }

  // Tokens are named by people; the server's own records (role system) get words in the page's language.
  function actorLabel(rec) {
    if (rec.role !== 'system') return rec.actor;
    return CM.t(rec.actor === '(another program)' ? 'actor_outside' : 'actor_system');
  }

  async function loadHistory() {
    const ul = $('history');
    ul.replaceChildren();
    const c = st.current;
    if (!c || !c.id) return;
    const r = await CM.getJSON('/api/audit?collection=' + c.layer + '&feature=' + c.id + '&limit=10', { headers: auth() });
    if (r.status !== 200) return;
    for (const rec of r.body.records) {
      const li = document.createElement('li');
      li.textContent = CM.formatTime(rec.time) + ' — ' + actorLabel(rec) + ' — ' + translated('action_' + rec.action, rec.action);
      ul.append(li);
    }
  }

  function formProperties(layer) {
    const props = {};
    if (layer === 'services') {
      props.status = $('f-status').value || null;
      props.capacity = $('f-capacity').value === '' ? null : Number($('f-capacity').value);
      props.occupancy = $('f-occupancy').value === '' ? null : Number($('f-occupancy').value);
      return props;
    }
    for (const k of ['name', 'name_ar', 'description_en', 'description_ar']) props[k] = $('f-' + k).value || null;
    props.reason = $('f-reason').value || null;
    props.severity = $('f-severity').value || null;
    if (layer === 'closures') props.direction = $('f-direction').value || null;
    props.valid_from = fromLocalInput($('f-valid_from').value);
    props.valid_until = fromLocalInput($('f-valid_until').value);
    return props;
  }

  async function send(method, url, body, etag, type) {
    const headers = Object.assign({ 'Content-Type': type || 'application/geo+json' }, auth());
    if (etag) headers['If-Match'] = etag;
    return CM.getJSON(url, { method, headers, body: body === null ? undefined : JSON.stringify(body) });
  }

  async function save(ev) {
    ev.preventDefault();
    const c = st.current;
    if (!c) return;
    clearErrors();
    $('form-ok').textContent = CM.t('saving');
    const props = formProperties(c.layer);
    let r;
    if (c.layer === 'services') {
      r = await send('PATCH', '/api/collections/services/items/' + c.id, { properties: props }, c.etag, 'application/merge-patch+json');
    } else {
      const geometry = c.drawn ? c.drawn.toGeoJSON().geometry
        : c.editing ? c.editing.toGeoJSON().features ? c.editing.toGeoJSON().features[0].geometry : c.editing.toGeoJSON().geometry
          : c.feature.geometry;
      const base = Object.assign({}, c.feature.properties || {});
      for (const k of SERVER_OWNED) delete base[k];
      if (c.id) delete base.status;
      const feature = { type: 'Feature', geometry, properties: Object.assign(base, props) };
      r = c.id ? await send('PUT', '/api/collections/' + c.layer + '/items/' + c.id, feature, c.etag)
        : await send('POST', '/api/collections/' + c.layer + '/items', feature, null);
    }
    $('form-ok').textContent = '';
    if (r.status === 200 || r.status === 201) {
      if (c.drawn) st.map.removeLayer(c.drawn);
      c.drawn = null;
      $('form-ok').textContent = CM.t('saved');
      drawFeature(c.layer, r.body);
      openEditor(c.layer, r.body, r.etag, null);
      $('form-ok').textContent = CM.t('saved');
    } else {
      showError(r.body, r.status);
    }
  }

  async function patch(props) {
    const c = st.current;
    clearErrors();
    const r = await send('PATCH', '/api/collections/' + c.layer + '/items/' + c.id, { properties: props }, c.etag, 'application/merge-patch+json');
    if (r.status === 200) {
      drawFeature(c.layer, r.body);
      openEditor(c.layer, r.body, r.etag, null);
      $('form-ok').textContent = CM.t('saved');
    } else {
      showError(r.body, r.status);
    }
  }

  async function reload() {
    const c = st.current;
    const r = await CM.getJSON('/api/collections/' + c.layer + '/items/' + c.id);
    if (r.status === 200) {
      drawFeature(c.layer, r.body);
      openEditor(c.layer, r.body, r.etag, null);
    }
  }

  function drawFeature(layer, f) {
    const old = st.layers[layer].get(f.id);
    if (old) st.groups[layer].removeLayer(old);
    let l;
    if (layer === 'services') {
      const [x, y] = f.geometry.coordinates;
      l = L.marker([y, x], { icon: CM.serviceIcon(f.properties), title: CM.featureName(f.properties) });
    } else {
      const st2 = CM.style(layer, f.properties);
      const gj = L.geoJSON(f, { style: () => st2 });
      l = gj.getLayers()[0];
    }
    l.feature = f;
    l.on('click', async () => {
      if (!st.who || !st.who.may_edit.includes(layer)) return;
      const r = await CM.getJSON('/api/collections/' + layer + '/items/' + f.id);
      if (r.status === 200) openEditor(layer, r.body, r.etag, null);
    });
    l.addTo(st.groups[layer]);
    st.layers[layer].set(f.id, l);
  }

  async function loadLayers() {
    for (const layer of EDITABLE) {
      st.groups[layer].clearLayers();
      st.layers[layer] = new Map();
      const r = await CM.getJSON('/api/collections/' + layer + '/items?limit=10000');
      for (const f of r.body.features) drawFeature(layer, f);
    }
    CM.addHatchPattern(st.map);
  }

  function subscribe() {
    const es = new EventSource('/api/events?collections=' + EDITABLE.join(','));
    es.addEventListener('open', () => { $('banner').hidden = true; });
    es.addEventListener('error', () => { $('banner').hidden = false; });
    es.addEventListener('change', (m) => {
      const c = JSON.parse(m.data);
      const editingThis = st.current && st.current.layer === c.collection && st.current.id === c.id;
      if (editingThis) return; /* never pull a feature out from under the operator; If-Match guards the save */
      if (c.action === 'deleted') {
        const old = st.layers[c.collection].get(c.id);
        if (old) st.groups[c.collection].removeLayer(old);
        st.layers[c.collection].delete(c.id);
      } else if (c.feature) {
        drawFeature(c.collection, c.feature);
      }
    });
    es.addEventListener('reset', loadLayers);
  }

  /* #edit=LAYER/ID opens that feature (links from elsewhere, and a keyboard-free way in). */
  async function openFromHash() {
    const m = /^#edit=([a-z_]+)\/(\d+)$/.exec(location.hash);
    if (!m || !st.who || !st.who.may_edit.includes(m[1]) || !EDITABLE.includes(m[1])) return;
    const r = await CM.getJSON('/api/collections/' + m[1] + '/items/' + m[2]);
    if (r.status === 200) openEditor(m[1], r.body, r.etag, null);
  }

  async function start() {
    await CM.loadLanguage(CM.pickLanguage());
    $('lang').addEventListener('click', async () => {
      const next = CM.lang === 'ar' ? 'en' : 'ar';
      localStorage.setItem('cm-lang', next);
      await CM.loadLanguage(next);
      showWho();
      if (st.current) openEditor(st.current.layer, st.current.feature, st.current.etag, st.current.drawn);
    });
    $('signin').addEventListener('submit', async (e) => {
      e.preventDefault();
      await signIn($('token').value.trim());
      $('token').value = '';
    });
    $('signout').addEventListener('click', () => {
      sessionStorage.removeItem('cm-token');
      st.token = null;
      st.who = null;
      $('editor').hidden = true;
      showWho();
    });
    $('editor').addEventListener('submit', save);
    $('cancel').addEventListener('click', () => {
      if (st.current && st.current.drawn) st.map.removeLayer(st.current.drawn);
      if (st.current && st.current.editing) st.current.editing.pm.disable();
      st.current = null;
      $('editor').hidden = true;
    });
    $('lift').addEventListener('click', () => patch({ status: 'lifted' }));
    $('verify').addEventListener('click', () => patch({ verified_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }));
    $('reload').addEventListener('click', reload);
    $('draw-closure').addEventListener('click', () => st.map.pm.enableDraw('Line', { finishOn: 'dblclick' }));
    $('draw-area').addEventListener('click', () => st.map.pm.enableDraw('Polygon', { allowSelfIntersection: false }));

    const settings = await CM.mapSettings();
    st.map = CM.baseMap('map', settings);
    st.map.doubleClickZoom.disable();
    st.map.pm.setLang(CM.lang === 'ar' ? 'ar' : 'en');
    for (const l of EDITABLE) {
      st.groups[l] = L.featureGroup().addTo(st.map);
      st.layers[l] = new Map();
    }
    /* While drawing, existing features let clicks through to the map, so every click adds a vertex. */
    st.map.on('pm:drawstart', () => st.map.getContainer().classList.add('cm-drawing'));
    st.map.on('pm:drawend', () => st.map.getContainer().classList.remove('cm-drawing'));
    st.map.on('pm:create', (e) => {
      const layer = e.shape === 'Line' ? 'closures' : 'blocked_areas';
      const now = new Date();
      openEditor(layer, { id: null, type: 'Feature', geometry: e.layer.toGeoJSON().geometry,
        properties: { valid_from: now.toISOString() } }, null, e.layer);
    });
    await loadSchemas();
    await loadLayers();
    const b = st.groups.closures.getBounds().extend(st.groups.services.getBounds());
    if (b.isValid()) st.map.fitBounds(b, { padding: [20, 20] });
    subscribe();
    if (st.token) await signIn(st.token);
    showWho();
    window.addEventListener('hashchange', openFromHash);
    await openFromHash();
    document.body.dataset.ready = 'true';
  }

  start().catch((e) => { $('banner').hidden = false; $('banner').textContent = String(e); });
})();
