/* common.js — shared by the residents' map and the operators' console: translations,
 * API access, how each layer looks, popups. Every piece of data from the server is put
 * into the page as text (textContent), never as markup. */
'use strict';

const CM = (() => {
  let strings = {};
  let lang = 'en';

  /* The language: ?lang=, then the visitor's earlier choice, then the browser's. */
  function pickLanguage() {
    const q = new URLSearchParams(location.search).get('lang');
    if (q === 'ar' || q === 'en') return q;
    const saved = localStorage.getItem('cm-lang');
    if (saved === 'ar' || saved === 'en') return saved;
    return (navigator.languages || [navigator.language || 'en']).some((l) => l.toLowerCase().startsWith('ar')) ? 'ar' : 'en';
  }

  async function loadLanguage(l) {
    const r = await fetch('/i18n/' + l + '.json');
    strings = await r.json();
    lang = l;
    document.documentElement.lang = l;
    document.documentElement.dir = l === 'ar' ? 'rtl' : 'ltr';
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
    for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
    document.title = t(document.body.dataset.titleKey || 'title');
  }

  function t(key, vars) {
    let s = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
    return s;
  }

  /* A feature's name in the chosen language when the data has it. */
  function featureName(p) {
    if (lang === 'ar' && p.name_ar) return p.name_ar;
    if (lang === 'en' && p.name_en) return p.name_en;
    return p.name || p.name_ar || p.name_en || '';
  }

  function formatTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return d.toLocaleString(lang === 'ar' ? 'ar' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  }

  function hhmm(d) {
    return d.toLocaleTimeString(lang === 'ar' ? 'ar' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
  }

  async function getJSON(url, options) {
    const r = await fetch(url, options);
    const body = r.status === 204 ? null : await r.json().catch(() => null);
    return { status: r.status, etag: r.headers.get('ETag'), body };
  }

  /* What residents see: closures and blocked areas in force or planned; expired and lifted
   * ones leave the map. */
  function visible(layer, p) {
    if (layer === 'closures' || layer === 'blocked_areas') return p.status === 'active' || p.status === 'planned';
    return true;
  }

  const STATUS_COLOURS = { open: '#1b7f3b', full: '#c96a00', closed: '#b3261e', unknown: '#6b6b6b' };
  const KIND_LETTERS = { hospital: 'H', clinic: 'C', pharmacy: 'Rx', shelter: 'S', water: 'W', civil_defence: 'CD',
    police: 'P', school: 'Sc', townhall: 'T' };

  function style(layer, p) {
    const planned = p.status === 'planned';
    switch (layer) {
      case 'closures': return { color: '#d0021b', weight: 7, opacity: 0.9, dashArray: planned ? '8 8' : null, className: 'cm-f cm-closures' };
      case 'blocked_areas': return { color: '#d0021b', weight: 2, fillOpacity: 1, dashArray: planned ? '6 6' : null, className: 'cm-f cm-blocked_areas cm-hatched' };
      case 'evacuation_routes': return { color: '#128a3e', weight: 6, opacity: 0.9, className: 'cm-f cm-evacuation_routes' };
      case 'districts': return { color: '#5a6b7b', weight: 1, fill: false, dashArray: '3 4', className: 'cm-f cm-districts', interactive: false };
      default: return { className: 'cm-f cm-' + layer };
    }
  }

  function serviceIcon(p) {
    const box = document.createElement('div');
    box.className = 'cm-icon';
    box.style.background = STATUS_COLOURS[p.status] || STATUS_COLOURS.unknown;
    box.textContent = KIND_LETTERS[p.kind] || '?';
    return L.divIcon({ html: box, className: 'cm-f cm-services cm-status-' + (p.status || 'unknown'), iconSize: [28, 28],
      iconAnchor: [14, 14], popupAnchor: [0, -12] });
  }

  function row(dl, label, value) {
    if (value === null || value === undefined || value === '') return;
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dl.append(dt, dd);
  }

  /* The popup of a feature, built as DOM nodes from text. */
  function popup(layer, p) {
    const box = document.createElement('div');
    box.className = 'cm-popup';
    const h = document.createElement('h3');
    h.textContent = featureName(p) || t('layer_' + layer);
    const sub = document.createElement('p');
    sub.className = 'cm-popup-layer';
    sub.textContent = layer === 'services' && p.kind ? t('k_' + p.kind) : t('layer_' + layer);
    const dl = document.createElement('dl');
    if (p.status) row(dl, t('status'), t('st_' + p.status));
    if (p.reason) row(dl, t('reason'), t('r_' + p.reason));
    if (p.severity) row(dl, t('severity'), t('sev_' + p.severity));
    if (layer === 'closures' && p.direction) row(dl, t('direction'), t('dir_' + p.direction));
    if (layer === 'closures' || layer === 'blocked_areas') row(dl, t('valid_until'), p.valid_until ? formatTime(p.valid_until) : t('until_further_notice'));
    if (p.destination || p.destination_ar) row(dl, t('destination'), lang === 'ar' && p.destination_ar ? p.destination_ar : p.destination);
    if (p.capacity !== null && p.capacity !== undefined) row(dl, t('capacity'), p.occupancy !== null && p.occupancy !== undefined ? p.occupancy + ' / ' + p.capacity : p.capacity);
    row(dl, t('phone'), p.phone);
    const desc = lang === 'ar' ? (p.description_ar || p.description_en) : (p.description_en || p.description_ar);
    row(dl, t('description'), desc);
    row(dl, t('updated'), formatTime(p.updated));
    row(dl, t('verified'), p.verified_at ? formatTime(p.verified_at) : t('not_verified'));
    box.append(h, sub, dl);
    return box;
  }

  /* Arrows along a route, pointing the way to go. */
  function routeArrows(feature, group) {
    const lines = feature.geometry.type === 'LineString' ? [feature.geometry.coordinates] : feature.geometry.coordinates;
    for (const c of lines) {
      const step = Math.max(1, Math.floor(c.length / 6));
      for (let i = step; i < c.length; i += step) {
        const [x0, y0] = c[i - 1], [x1, y1] = c[i];
        const angle = Math.atan2(-(y1 - y0), (x1 - x0) * Math.cos((y0 * Math.PI) / 180)) * (180 / Math.PI);
        const a = document.createElement('div');
        a.className = 'cm-arrow-glyph';
        a.textContent = '➤';
        a.style.transform = 'rotate(' + angle + 'deg)';
        L.marker([(y0 + y1) / 2, (x0 + x1) / 2], { icon: L.divIcon({ html: a, className: 'cm-arrow', iconSize: [16, 16] }),
          interactive: false, keyboard: false }).addTo(group);
      }
    }
  }

  /* An SVG hatch pattern for blocked areas, added to the map's vector layer. */
  function addHatchPattern(map) {
    const svg = map.getPanes().overlayPane.querySelector('svg');
    if (!svg || svg.querySelector('#cm-hatch')) return;
    const svgElement = (tag, attrs) => {
      const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      return el;
    };
    const defs = svgElement('defs', {});
    const pat = svgElement('pattern', {id: 'cm-hatch', patternUnits: 'userSpaceOnUse', width: '8', height: '8',
                                       patternTransform: 'rotate(45)'});
    const bg = svgElement('rect', {width: '8', height: '8', fill: 'rgba(208,2,27,0.12)'});
    const line = svgElement('line', {x1: '0', y1: '0', x2: '0', y2: '8', stroke: '#d0021b', 'stroke-width': '3'});
    pat.append(bg, line);
    defs.append(pat);
    svg.prepend(defs);
  }

  async function mapSettings() {
    const r = await getJSON('/api');
    return (r.body && r.body.map) || { tiles: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', tiles_attribution: '© OpenStreetMap contributors' };
  }

  function baseMap(el, settings) {
    const map = L.map(el, { preferCanvas: false, zoomControl: true });
    L.tileLayer(settings.tiles, { maxZoom: 19, attribution: '' }).addTo(map);
    const osm = document.createElement('a');
    osm.href = 'https://www.openstreetmap.org/copyright';
    osm.textContent = settings.tiles_attribution || '© OpenStreetMap contributors';
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(osm.outerHTML + ' (ODbL)');
    map.setView([43.735, 7.42], 14);
    return map;
  }

  return { pickLanguage, loadLanguage, t, featureName, formatTime, hhmm, getJSON, visible, style, serviceIcon, popup,
    routeArrows, addHatchPattern, mapSettings, baseMap, get lang() { return lang; }, STATUS_COLOURS, KIND_LETTERS };
})();
