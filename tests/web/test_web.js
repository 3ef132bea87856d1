#!/usr/bin/env node
/* The residents' map and the operators' console in a real browser (Debian's chromium driven
 * by playwright-core) against the real server with the demo data: feature counts per layer,
 * live updates from a drawn closure, lifting, a 412 conflict, saving a gzipped (1 KB+) feature, Arabic and right-to-left,
 * keyboard access to the list, operator text rendered as text, the CSP, and screenshots.
 *
 * usage: node test_web.js BINARY SOURCE_DIR [ARTIFACT_DIR]
 */
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [binary, source] = [path.resolve(process.argv[2]), path.resolve(process.argv[3])];
const artifacts = path.resolve(process.argv[4] || path.join(path.dirname(binary), 'test-artifacts'));
const { chromium } = require(path.join(source, 'web', 'node_modules', 'playwright-core'));

let passed = 0, failed = 0;
function check(cond, what, detail) {
  if (cond) { passed++; console.log('ok   ' + what); } else { failed++; console.log('FAIL ' + what + (detail !== undefined ? ' ' + JSON.stringify(detail) : '')); }
}

function startServer(store, listen) {
  return new Promise((resolve, reject) => {
    const p = spawn(binary, ['serve', '--config', path.join(source, 'config', 'crisismap.json'), '--store', store, '--listen', listen || '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    p.stderr.on('data', (d) => { log += d; });
    p.stdout.once('data', (d) => {
      const m = /listening on (http:\/\/\S+)/.exec(String(d));
      if (m) resolve({ proc: p, url: m[1], log: () => log }); else reject(new Error('no listen line: ' + d));
    });
    p.once('exit', (code) => reject(new Error('server exited ' + code + ': ' + log)));
  });
}

async function api(url, method, token, body, headers) {
  const h = Object.assign({ 'Content-Type': 'application/geo+json' }, headers || {});
  if (token) h.Authorization = 'Bearer ' + token;
  const r = await fetch(url, { method, headers: h, body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, etag: r.headers.get('etag'), body: r.status === 204 ? null : await r.json() };
}

const shown = (layer, p) => (layer === 'closures' || layer === 'blocked_areas') ? (p.status === 'active' || p.status === 'planned') : true;

async function counts(page) {
  return page.evaluate(() => {
    const out = {};
    for (const l of ['closures', 'blocked_areas', 'evacuation_routes', 'services', 'districts']) out[l] = document.querySelectorAll('#map .cm-' + l).length;
    return out;
  });
}

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crisismap-web-'));
  const store = path.join(tmp, 'store.gpkg');
  execFileSync(binary, ['demo', '--store', store, '--config', path.join(source, 'config', 'crisismap.json')], { stdio: 'ignore' });
  const token = execFileSync(binary, ['token', 'create', '--store', store, '--name', 'traffic-1', '--role', 'operator']).toString().trim();
  const admin = execFileSync(binary, ['token', 'create', '--store', store, '--name', 'city-admin', '--role', 'admin']).toString().trim();
  const srv = await startServer(store);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  const dialogs = [];
  const newPage = async (lang, viewport) => {
    const ctx = await browser.newContext({ viewport: viewport || { width: 1280, height: 860 }, locale: lang === 'ar' ? 'ar' : 'en-GB' });
    const page = await ctx.newPage();
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    page.on('pageerror', (e) => console.log('page error:', e.message));
    return page;
  };
  try {
    // --- the residents' page draws what the API holds ---
    const phone = await newPage('en', { width: 390, height: 844 });
    const cdp = await phone.context().newCDPSession(phone);
    await cdp.send('Network.enable');
    let bytes = 0;
    cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
    const resp = await phone.goto(srv.url + '/');
    await phone.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    await phone.waitForTimeout(300);
    console.log('first load on a phone viewport: ' + bytes + ' bytes transferred (tiles cannot load here)');
    const csp = resp.headers()['content-security-policy'] || '';
    const scriptSrc = (/script-src ([^;]*)/.exec(csp) || [])[1] || '';
    check(scriptSrc.includes("'self'") && !scriptSrc.includes('unsafe-inline'), 'pages are served with a CSP that allows no inline script', csp);
    await phone.screenshot({ path: path.join(artifacts, 'residents-en-phone.png'), fullPage: false });

    const page = await newPage('en');
    await page.goto(srv.url + '/');
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    const drawn = await counts(page);
    for (const layer of Object.keys(drawn)) {
      const r = await api(srv.url + '/api/collections/' + layer + '/items?limit=10000', 'GET');
      const expected = r.body.features.filter((f) => shown(layer, f.properties)).length;
      check(drawn[layer] === expected && expected > 0, 'the map draws every ' + layer + ' feature the API holds (' + expected + ')', drawn[layer]);
    }
    check(await page.locator('.leaflet-control-attribution').innerText().then((t) => t.includes('OpenStreetMap')), 'the map shows the OpenStreetMap attribution');
    check(await page.locator('footer').innerText().then((t) => t.includes('OpenStreetMap contributors')), 'the page footer carries the ODbL attribution');
    await page.screenshot({ path: path.join(artifacts, 'residents-en.png') });

    // --- keyboard: skip link, then the list ---
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => document.activeElement.className + '|' + document.activeElement.textContent);
    check(first.startsWith('skip|'), 'the first Tab stop is the skip-to-list link', first);
    await page.keyboard.press('Enter');
    for (let i = 0; i < 2; i++) await page.keyboard.press('Tab');
    const inList = await page.evaluate(() => !!document.activeElement.closest('#list') && document.activeElement.tagName);
    check(inList === 'BUTTON', 'the list view is reachable by keyboard', inList);
    const items = await page.locator('#list-closures .cm-list-item').count();
    check(items > 0, 'the list view shows active closures without the map (' + items + ')');

    // --- nearest first when the visitor shares a location ---
    const geoCtx = await browser.newContext({ viewport: { width: 1280, height: 860 }, geolocation: { latitude: 43.7285, longitude: 7.4160 },
      permissions: ['geolocation'] });
    const geo = await geoCtx.newPage();
    await geo.goto(srv.url + '/');
    await geo.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    await geo.click('#locate');
    await geo.waitForSelector('#list-services .cm-list-distance', { timeout: 5000 }).catch(() => {});
    const km = await geo.$$eval('#list-services .cm-list-distance', (els) => els.map((e) => parseFloat(e.textContent)));
    check(km.length > 5 && km.every((v, i) => i === 0 || km[i - 1] <= v), 'sharing a location sorts open services nearest first', km.slice(0, 5));
    await geoCtx.close();

    // --- operator: sign in, draw a closure; an open residents' page shows it within 2 s ---
    const op = await newPage('en');
    await op.goto(srv.url + '/operator');
    await op.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    await op.fill('#token', token);
    await op.click('#signin button[type=submit]');
    await op.waitForSelector('#who:not([hidden])');
    check((await op.locator('#who').innerText()).includes('traffic-1 (operator)'), 'the console shows the token name and role');
    check(await op.evaluate(() => sessionStorage.getItem('cm-token') !== null && localStorage.getItem('cm-token') === null),
      'the token is kept in sessionStorage only');
    await op.screenshot({ path: path.join(artifacts, 'operator-en.png') });
    const before = (await counts(page)).closures;
    await op.click('#draw-closure');
    const box = await op.locator('#map').boundingBox();
    const pts = [[0.30, 0.45], [0.45, 0.50], [0.60, 0.47]].map(([fx, fy]) => [box.x + box.width * fx, box.y + box.height * fy]);
    await op.mouse.click(pts[0][0], pts[0][1]);
    await op.mouse.click(pts[1][0], pts[1][1]);
    await op.mouse.dblclick(pts[2][0], pts[2][1]);
    await op.waitForSelector('#editor:not([hidden])', { timeout: 5000 });
    await op.fill('#f-name', 'Live test closure');
    await op.click('#save'); // no reason yet: the API's error appears next to that field
    const reasonError = await op.waitForFunction(() => document.querySelector('.field-error[data-field="properties.reason"]').textContent.length > 0,
      null, { timeout: 5000 }).then(() => true, () => false);
    check(reasonError, 'an API error appears next to the field it names (reason)');
    await op.selectOption('#f-reason', 'flood');
    await op.selectOption('#f-severity', 'full');
    await op.click('#save');
    const t0 = Date.now();
    await op.waitForFunction(() => document.getElementById('form-ok').textContent === CM.t('saved') && !document.getElementById('lift').hidden, null, { timeout: 5000 });
    const arrived = await page.waitForFunction((n) => document.querySelectorAll('#map .cm-closures').length === n + 1, before, { timeout: 2000 })
      .then(() => true, () => false);
    check(arrived, 'a second residents\' page shows the drawn closure without reloading (' + (Date.now() - t0) + ' ms)');
    check(await page.locator('#list-closures').innerText().then((t) => t.includes('Live test closure')), 'the list view shows it too');
    const stampText = await page.locator('#updated').innerText();
    check(/\d\d:\d\d/.test(stampText), 'the page shows an "updated HH:MM" stamp', stampText);

    // --- a 412 conflict is shown to the operator, who reloads and retries ---
    const created = (await api(srv.url + '/api/collections/closures/items?name=Live%20test%20closure', 'GET')).body.features[0];
    await op.click('#cancel');
    await op.evaluate((id) => { location.hash = 'edit=closures/' + id; }, created.id);
    await op.waitForFunction((id) => document.getElementById('panel-title').textContent.includes('#' + id), created.id, { timeout: 5000 });
    const cur = await api(srv.url + '/api/collections/closures/items/' + created.id, 'GET');
    const other = await api(srv.url + '/api/collections/closures/items/' + created.id, 'PATCH', admin,
      { properties: { description_en: 'changed by the control room' } }, { 'Content-Type': 'application/merge-patch+json', 'If-Match': cur.etag });
    check(other.status === 200, 'another operator changes the closure meanwhile');
    await op.fill('#f-name', 'Live test closure (renamed)');
    await op.click('#save');
    const conflict = await op.waitForSelector('#conflict:not([hidden])', { timeout: 5000 }).then(() => true, () => false);
    check(conflict, 'the console shows that someone else changed the feature (412)');
    await op.click('#reload');
    await op.waitForFunction(() => document.getElementById('f-description_en').value === 'changed by the control room', null, { timeout: 5000 });
    await op.fill('#f-name', 'Live test closure (renamed)');
    await op.click('#save');
    // 'saved', not any text: the console shows 'saving' while the request is in flight, and reading
    // the feature then raced the save (the ASan build lost that race once in CI).
    const retried = await op.waitForFunction(() => document.getElementById('form-ok').textContent === CM.t('saved') && document.getElementById('conflict').hidden, null, { timeout: 5000 })
      .then(() => true, () => false);
    const after = await api(srv.url + '/api/collections/closures/items/' + created.id, 'GET');
    check(retried && after.body.properties.name === 'Live test closure (renamed)' && after.body.properties.description_en === 'changed by the control room',
      'after reload and retry both changes are kept', after.body.properties);
    await op.waitForFunction(() => document.querySelectorAll('#history li').length >= 3, null, { timeout: 5000 }).catch(() => {});
    const history = await op.locator('#history li').allTextContents();
    const updatedWord = await op.evaluate(() => CM.t('action_updated'));
    check(history.length >= 3 && history.some((h) => h.includes('traffic-1') && h.includes(' — ' + updatedWord)) &&
      !history.some((h) => h.includes('action_')),
      'the feature\'s recent audit entries are visible in the console, who and what in words (' + history.length + ')', history);

    // --- a feature of 1 KB or more saves: its responses go out gzipped, and their ETag carries -gz ---
    const big = await api(srv.url + '/api/collections/closures/items', 'POST', token, { type: 'Feature',
      geometry: { type: 'LineString', coordinates: [[7.4195, 43.7345], [7.4205, 43.7352]] },
      properties: { reason: 'flood', name: 'Long closure', description_en: 'Water over the road. '.repeat(60) } });
    check(big.status === 201, 'a closure with a 1.2 KB description is created');
    await op.evaluate((id) => { location.hash = 'edit=closures/' + id; }, big.body.id);
    await op.waitForFunction((id) => document.getElementById('panel-title').textContent.includes('#' + id), big.body.id, { timeout: 5000 });
    await op.fill('#f-name', 'Long closure (renamed)');
    await op.click('#save');
    let bigName = null;
    for (let i = 0; i < 50 && bigName !== 'Long closure (renamed)'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      bigName = (await api(srv.url + '/api/collections/closures/items/' + big.body.id, 'GET')).body.properties.name;
    }
    check(bigName === 'Long closure (renamed)' && await op.evaluate(() => document.getElementById('conflict').hidden),
      'the console saves a feature whose responses are gzipped (no 412)', bigName);
    await op.evaluate((id) => { location.hash = 'edit=closures/' + id; }, created.id);
    await op.waitForFunction((id) => document.getElementById('panel-title').textContent.includes('#' + id), created.id, { timeout: 5000 });

    // --- lifting removes it from the residents' page ---
    const n1 = (await counts(page)).closures;
    await op.click('#lift');
    const lifted = await page.waitForFunction((n) => document.querySelectorAll('#map .cm-closures').length === n - 1, n1, { timeout: 2000 })
      .then(() => true, () => false);
    check(lifted, 'lifting the closure removes it from the open residents\' page within 2 s');

    // --- operator text is text: markup in a closure runs nothing ---
    const evil = '<img src=x onerror=alert(1)>';
    const x = await api(srv.url + '/api/collections/closures/items', 'POST', token, { type: 'Feature',
      geometry: { type: 'LineString', coordinates: [[7.4205, 43.7355], [7.4215, 43.7362]] },
      properties: { reason: 'other', name: evil, description_en: evil } });
    check(x.status === 201, 'a closure named ' + evil + ' is accepted as text');
    await page.waitForFunction((s) => document.getElementById('list-closures').textContent.includes(s), evil, { timeout: 3000 }).catch(() => {});
    const listText = await page.locator('#list-closures').innerText();
    const imgs = await page.evaluate(() => [...document.querySelectorAll('img')].filter((i) => i.getAttribute('src') === 'x').length);
    await page.locator('#list-closures .cm-list-item', { hasText: evil }).first().click();
    await page.waitForSelector('.leaflet-popup-content', { timeout: 3000 }).catch(() => {});
    const popup = await page.locator('.leaflet-popup-content').innerText().catch(() => '');
    await page.waitForTimeout(300);
    check(listText.includes(evil) && popup.includes(evil) && imgs === 0 && dialogs.length === 0,
      'operator markup shows as characters in the list and popup, and runs nothing', { imgs, dialogs, popup });

    // --- Arabic ---
    const ar = await newPage('ar');
    await ar.goto(srv.url + '/?lang=ar');
    await ar.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    const arInfo = await ar.evaluate(() => ({ dir: document.documentElement.dir, lang: document.documentElement.lang,
      h1: document.querySelector('h1').textContent, list: document.getElementById('list-title').textContent }));
    const arStrings = JSON.parse(fs.readFileSync(path.join(source, 'web', 'i18n', 'ar.json'), 'utf8'));
    check(arInfo.dir === 'rtl' && arInfo.lang === 'ar' && arInfo.h1 === arStrings.title && arInfo.list === arStrings.list_title,
      'Arabic sets dir="rtl" and the translated labels', arInfo);
    await ar.screenshot({ path: path.join(artifacts, 'residents-ar.png') });
    const browserAr = await newPage('ar');
    await browserAr.goto(srv.url + '/');
    await browserAr.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    check(await browserAr.evaluate(() => document.documentElement.dir) === 'rtl', 'the language follows the browser (Arabic locale → rtl)');
    await browserAr.click('#lang');
    await browserAr.waitForFunction(() => document.documentElement.dir === 'ltr');
    check(await browserAr.evaluate(() => document.querySelector('h1').textContent) === 'Crisis map', 'the language can be switched');
    const opAr = await newPage('ar');
    await opAr.goto(srv.url + '/operator?lang=ar');
    await opAr.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    await opAr.fill('#token', token);
    await opAr.click('#signin button[type=submit]');
    await opAr.waitForSelector('#who:not([hidden])');
    await opAr.screenshot({ path: path.join(artifacts, 'operator-ar.png') });
    check(await opAr.evaluate(() => document.documentElement.dir) === 'rtl', 'the console in Arabic is right-to-left');

    // --- the stream drops: a banner; the page reconnects and catches up by itself ---
    const port = new URL(srv.url).port;
    srv.proc.removeAllListeners('exit');
    srv.proc.kill('SIGTERM');
    await new Promise((r) => srv.proc.once('exit', r));
    const banner = await page.waitForSelector('#banner:not([hidden])', { timeout: 8000 }).then(() => true, () => false);
    check(banner, 'a visible banner when the live stream drops');
    const again = await startServer(store, '127.0.0.1:' + port);
    srv.proc = again.proc;
    const y = await api(srv.url + '/api/collections/closures/items', 'POST', token, { type: 'Feature',
      geometry: { type: 'LineString', coordinates: [[7.4185, 43.7340], [7.4195, 43.7348]] }, properties: { reason: 'debris', name: 'After the outage' } });
    const caught = await page.waitForFunction(() => document.getElementById('list-closures').textContent.includes('After the outage') &&
      document.getElementById('banner').hidden, null, { timeout: 10000 }).then(() => true, () => false);
    check(y.status === 201 && caught, 'the page reconnects by itself, hides the banner and shows the change made meanwhile');
  } finally {
    await browser.close();
    srv.proc.removeAllListeners('exit');
    srv.proc.kill('SIGTERM');
    await new Promise((r) => srv.proc.once('exit', r));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log('screenshots in ' + artifacts);
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); console.log(passed + ' passed, ' + (failed + 1) + ' failed'); process.exit(1); });
