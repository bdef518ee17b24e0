(() => {
  'use strict';
  // The token lives in this closure only: never in storage, the URL or the page.
  let token = null;
  const $ = (id) => document.getElementById(id);
  const LEVELS = { npa: 'NPAs', lpa: 'LPAs', sector: 'Sectors', beat: 'Beats', force: 'Force', ward: 'Wards' };
  const PERIODS = [['28D', 'Latest month (28 days)'], ['3M', 'Last 3 months'], ['6M', 'Last 6 months'], ['12M', 'Last 12 months']];

  function say(text, error) {
    const m = $('message');
    m.textContent = text || '';
    m.className = error ? 'error' : '';
  }

  async function api(method, path) {
    const res = await fetch(path, {
      method: method,
      headers: { 'Authorization': 'Bearer ' + token, 'Accept': 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const why = body && body.detail ? body.detail : res.status + ' ' + res.statusText;
      throw new Error(why);
    }
    return body;
  }

  function option(value, text) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = text;
    return o;
  }

  function fillAreas(index, who) {
    const sel = $('area');
    sel.replaceChildren();
    if (!who.scoped) sel.appendChild(option('', 'All areas (the force)'));
    const order = index.levels.slice().reverse().filter((lv) => lv !== 'ward' && lv !== 'force');
    for (const lv of order) {
      const areas = index.areas[lv] || [];
      if (!areas.length) continue;
      const group = document.createElement('optgroup');
      group.label = LEVELS[lv] || lv;
      for (const a of areas) group.appendChild(option(lv + ':' + a.id, a.name ? a.name + ' (' + a.id + ')' : a.id));
      sel.appendChild(group);
    }
    if (!sel.options.length) {
      for (const a of index.areas.ward || []) sel.appendChild(option('ward:' + a.id, a.name || a.id));
    }
  }

  function fillPeriods(months) {
    const sel = $('since');
    sel.replaceChildren();
    for (const [v, t] of PERIODS) sel.appendChild(option(v, t));
    for (const m of months.slice().reverse()) sel.appendChild(option(m, 'Month ' + m));
  }

  async function signIn() {
    const t = $('token').value.trim();
    if (!t) { say('Paste your access token first.', true); return; }
    token = t;
    $('signin').disabled = true;
    say('Signing in…');
    try {
      const who = await api('GET', '/api/whoami');
      const index = await api('GET', '/api/areas');
      const ver = await api('GET', '/version');
      fillAreas(index, who);
      fillPeriods(ver.data.months || []);
      $('token').value = '';
      $('who-name').textContent = 'Signed in as ' + who.name + (who.scoped ? ' (' + who.areas.join(', ') + ')' : '');
      $('who').hidden = false;
      $('signin-box').hidden = true;
      $('pick-box').hidden = false;
      say('Pick an area and a period, then open the briefing map.');
    } catch (e) {
      token = null;
      say('Sign-in failed: ' + e.message, true);
    } finally {
      $('signin').disabled = false;
    }
  }

  function signOut() {
    token = null;
    $('map').removeAttribute('src');
    $('map').hidden = true;
    $('newtab').hidden = true;
    $('who').hidden = true;
    $('pick-box').hidden = true;
    $('signin-box').hidden = false;
    say('Signed out.');
  }

  async function openMap() {
    const params = new URLSearchParams();
    if ($('area').value) params.set('area', $('area').value);
    params.set('since', $('since').value);
    $('open').disabled = true;
    say('Drawing the briefing map…');
    try {
      const link = await api('POST', '/maps/briefing/link?' + params.toString());
      const frame = $('map');
      frame.onload = () => say('Briefing map: ' + $('area').selectedOptions[0].textContent + ', ' + $('since').selectedOptions[0].textContent + '.');
      frame.src = link.url;
      frame.hidden = false;
      $('newtab').href = link.url;
      $('newtab').hidden = false;
    } catch (e) {
      say('Cannot open the map: ' + e.message, true);
    } finally {
      $('open').disabled = false;
    }
  }

  $('signin').addEventListener('click', signIn);
  $('token').addEventListener('keydown', (e) => { if (e.key === 'Enter') signIn(); });
  $('signout').addEventListener('click', signOut);
  $('open').addEventListener('click', openMap);
})();
