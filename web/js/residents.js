/* residents.js — the residents' map: every crisis layer, a legend, a list view that works
 * without the map, and live updates from /api/events. */
'use strict';

(() => {
  const LAYERS = ['districts', 'blocked_areas', 'evacuation_routes', 'closures', 'services'];
  const state = { map: null, groups: {}, features: {}, here: null, es: null };

  function drawFeature(layer, f) {
    const group = state.groups[layer];
    const old = state.features[layer].get(f.id);
    if (old) group.removeLayer(old);
    state.features[layer].delete(f.id);
    if (!f.geometry || !CM.visible(layer, f.properties)) return;
    let lyr;
    if (layer === 'services') {
      const [x, y] = f.geometry.coordinates;
      lyr = L.marker([y, x], { icon: CM.serviceIcon(f.properties), keyboard: true, title: CM.featureName(f.properties) });
    } else {
      const sub = L.featureGroup();
      L.geoJSON(f, { style: () => CM.style(layer, f.properties) }).addTo(sub);
      if (layer === 'evacuation_routes') CM.routeArrows(f, sub);
      lyr = sub;
    }
    if (layer !== 'districts') lyr.bindPopup(() => CM.popup(layer, f.properties));
    lyr.feature = f;
    lyr.addTo(group);
    state.features[layer].set(f.id, lyr);
  }

  async function loadLayer(layer) {
    const r = await CM.getJSON('/api/collections/' + layer + '/items?limit=10000');
    if (r.status !== 200) throw new Error(layer + ': ' + r.status);
    state.groups[layer].clearLayers();
    state.features[layer] = new Map();
    for (const f of r.body.features) drawFeature(layer, f);
  }

  async function loadAll() {
    await Promise.all(LAYERS.map(loadLayer));
    CM.addHatchPattern(state.map);
    stamp();
    renderList();
  }

  function stamp() {
    document.getElementById('updated').textContent = CM.t('updated_at', { time: CM.hhmm(new Date()) });
  }

  /* Distance in km from the visitor, when known. */
  function distance(f) {
    if (!state.here || !f.geometry) return null;
    const c = f.geometry.type === 'Point' ? f.geometry.coordinates
      : f.geometry.type === 'LineString' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    const toRad = Math.PI / 180, dLat = (c[1] - state.here.lat) * toRad, dLon = (c[0] - state.here.lon) * toRad;
    const a = Math.sin(dLat / 2) ** 2 + Math.cos(state.here.lat * toRad) * Math.cos(c[1] * toRad) * Math.sin(dLon / 2) ** 2;
    return 6371 * 2 * Math.asin(Math.sqrt(a));
  }

  function fillList(id, layer, keep, describe) {
    const ul = document.getElementById(id);
    ul.replaceChildren();
    const items = [...state.features[layer].values()].map((l) => l.feature).filter((f) => keep(f.properties));
    items.sort((a, b) => {
      const da = distance(a), db = distance(b);
      if (da !== null && db !== null) return da - db;
      return CM.featureName(a.properties).localeCompare(CM.featureName(b.properties));
    });
    if (!items.length) {
      const li = document.createElement('li');
      li.textContent = CM.t('none');
      ul.append(li);
    }
    for (const f of items) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'cm-list-item';
      const name = document.createElement('span');
      name.className = 'cm-list-name';
      name.textContent = CM.featureName(f.properties) || CM.t('layer_' + layer);
      const what = document.createElement('span');
      what.className = 'cm-list-what';
      what.textContent = describe(f.properties);
      b.append(name, what);
      const d = distance(f);
      if (d !== null) {
        const km = document.createElement('span');
        km.className = 'cm-list-distance';
        km.textContent = CM.t('distance_km', { km: d.toFixed(1) });
        b.append(km);
      }
      b.addEventListener('click', () => {
        const l = state.features[layer].get(f.id);
        if (!l) return;
        if (l.getLatLng) state.map.setView(l.getLatLng(), 17);
        else state.map.fitBounds(l.getBounds(), { maxZoom: 17 });
        l.openPopup();
      });
      li.append(b);
      ul.append(li);
    }
  }

  function renderList() {
    fillList('list-closures', 'closures', (p) => p.status === 'active',
      (p) => [p.reason ? CM.t('r_' + p.reason) : '', p.valid_until ? CM.t('valid_until') + ' ' + CM.formatTime(p.valid_until) : ''].filter(Boolean).join(' · '));
    fillList('list-services', 'services', (p) => p.status === 'open', (p) => (p.kind ? CM.t('k_' + p.kind) : ''));
  }

  function legend() {
    const box = document.getElementById('legend-items');
    box.replaceChildren();
    const entries = [['closures', 'cm-key-closure'], ['blocked_areas', 'cm-key-area'], ['evacuation_routes', 'cm-key-route']];
    for (const [layer, cls] of entries) {
      const li = document.createElement('li');
      const key = document.createElement('span');
      key.className = 'cm-key ' + cls;
      const label = document.createElement('span');
      label.textContent = CM.t('layer_' + layer);
      li.append(key, label);
      box.append(li);
    }
    for (const st of ['open', 'full', 'closed']) {
      const li = document.createElement('li');
      const key = document.createElement('span');
      key.className = 'cm-key cm-key-service';
      key.style.background = CM.STATUS_COLOURS[st];
      key.textContent = 'H';
      const label = document.createElement('span');
      label.textContent = CM.t('layer_services') + ': ' + CM.t('st_' + st);
      li.append(key, label);
      box.append(li);
    }
  }

  /* Live updates: apply each committed change; reload everything on a reset. */
  function subscribe() {
    const es = new EventSource('/api/events');
    state.es = es;
    const banner = document.getElementById('banner');
    es.addEventListener('open', () => { banner.hidden = true; });
    es.addEventListener('error', () => { banner.hidden = false; });
    es.addEventListener('change', (msg) => {
      const c = JSON.parse(msg.data);
      if (!LAYERS.includes(c.collection)) return;
      if (c.tombstone || !c.feature) {
        const old = state.features[c.collection].get(c.id);
        if (old) state.groups[c.collection].removeLayer(old);
        state.features[c.collection].delete(c.id);
      } else {
        drawFeature(c.collection, c.feature);
      }
      if (c.collection === 'blocked_areas') CM.addHatchPattern(state.map);
      stamp();
      renderList();
    });
    es.addEventListener('reset', () => { loadAll(); });
  }

  async function start() {
    await CM.loadLanguage(CM.pickLanguage());
    document.getElementById('lang').addEventListener('click', async () => {
      const next = CM.lang === 'ar' ? 'en' : 'ar';
      localStorage.setItem('cm-lang', next);
      await CM.loadLanguage(next);
      legend();
      renderList();
      stamp();
    });
    document.getElementById('locate').addEventListener('click', () => {
      const note = document.getElementById('locate-note');
      if (!navigator.geolocation) { note.textContent = CM.t('location_denied'); return; }
      navigator.geolocation.getCurrentPosition((pos) => {
        state.here = { lat: pos.coords.latitude, lon: pos.coords.longitude };
        note.textContent = '';
        renderList();
      }, () => { note.textContent = CM.t('location_denied'); }, { timeout: 10000 });
    });
    const settings = await CM.mapSettings();
    state.map = CM.baseMap('map', settings);
    for (const l of LAYERS) {
      state.groups[l] = L.featureGroup().addTo(state.map);
      state.features[l] = new Map();
    }
    legend();
    subscribe();
    await loadAll();
    const b = state.groups.closures.getBounds().extend(state.groups.services.getBounds());
    if (b.isValid()) state.map.fitBounds(b, { padding: [20, 20] });
    document.body.dataset.ready = 'true';
  }

  start().catch((e) => {
    document.getElementById('banner').hidden = false;
    document.getElementById('banner').textContent = String(e);
  });
})();
