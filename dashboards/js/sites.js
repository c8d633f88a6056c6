// Sites: the sites this server collects for and the origins each accepts
// events from, a form to add a site (or more origins to one), and the
// install steps of the current site. For admins of every site (the nav
// offers it to them only; the server answers 403 to anyone else).
// Names and origins come from people: rendered as text (h()) only.
import { h, api, apiSend, clear, fmt, card, table, loading, errorBox, link } from './core.js';
import { installCard } from './install.js';

const failed = (box) => (e) => { if (e.name !== 'AbortError' && e.status !== 401) clear(box).appendChild(errorBox(e)); };
function say(el, text, ok) { el.className = 'form-status' + (ok === true ? ' ok' : ok === false ? ' err' : ''); el.textContent = text; }
// "a, b" or one a line: origins and query parameter names never hold
// commas or spaces.
const split = (text) => text.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'Sites'),
    h('p.muted', 'The sites this server collects for, the addresses each accepts events from, and the tag to install.')));
  // The install steps first: after adding a site, the next thing to do.
  if (ctx.siteInfo) el.appendChild(installCard(ctx));
  const box = h('div', loading());
  el.appendChild(card('All sites', box, { cls: 'sites-card', sub: 'events are accepted only from these origins' }));
  await renderSites(box, ctx).catch(failed(box));
}

async function renderSites(box, ctx, done) {
  const data = await api('/api/sites', null, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const list = data.sites || [];
  const known = new Set(list.map((x) => x.name));
  const rows = table([
    {
      label: 'Site',
      render: (x) => h('span.site-cell',
        x.name === ctx.site ? h('strong', x.name) : h('a', { href: link('sites', { site: x.name }), title: 'Show the tag of ' + x.name }, x.name),
        x.name === ctx.site ? h('span.role-tag', 'shown') : null),
    },
    { label: 'Origins', render: (x) => ((x.origins || []).length ? h('div.origin-list', x.origins.map((o) => h('code', o))) : h('span.muted', 'none yet')) },
    { label: 'Kept query', title: 'Query parameters kept in page paths', render: (x) => ((x.keep_query || []).length ? x.keep_query.join(', ') : h('span.muted', '–')) },
    { label: 'Added', render: (x) => (x.created_ms ? fmt.time(x.created_ms) : '–') },
  ], list, { empty: 'No sites yet: add the first one below.', cls: 'sites-table' });

  const name = h('input#site-name', {
    type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', list: 'site-names', placeholder: 'e.g. shop', required: true,
  });
  const names = h('datalist#site-names', list.map((x) => h('option', { value: x.name })));
  const origins = h('textarea#site-origins', { rows: 3, spellcheck: 'false', autocapitalize: 'none', placeholder: 'https://shop.example\nhttps://www.shop.example' });
  const keep = h('input#site-keep', { type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', placeholder: 'e.g. q, page' });
  const add = h('button.btn.btn-primary#site-add', { type: 'submit' }, 'Add');
  const st = h('div.form-status#site-status', { role: 'status' });
  const note = h('small.muted#site-mode', 'A new site.');
  // Say what the button will do: a name already listed gets the origins added.
  const mode = () => {
    const n = name.value.trim();
    const existing = known.has(n);
    note.textContent = !n ? 'A new name adds a site; an existing one gets the origins added.'
      : existing ? n + ' exists: the origins are added to it.' : 'A new site named ' + n + '.';
    add.textContent = existing ? 'Add origins' : 'Add site';
  };
  name.addEventListener('input', mode);
  mode();
  const form = h('form.team-form#site-form', { autocomplete: 'off', novalidate: true },
    h('div.form-grid',
      h('label.field', h('span', 'Name'), name, names, note),
      h('label.field', h('span', 'Origins'), origins, h('small.muted', 'The addresses the pages are served from (scheme, host, port): one a line, or comma separated.')),
      h('label.field', h('span', 'Kept query parameters'), keep, h('small.muted', 'Optional. Page paths drop the query string except these (e.g. a search term).'))),
    h('div.row-actions', add, st));
  if (done) {
    say(st, done.text, true);
    if (done.site && done.site !== ctx.site) st.append(' ', h('a#site-show', { href: link('sites', { site: done.site }) }, 'Show the tag of ' + done.site));
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const n = name.value.trim();
    const o = split(origins.value);
    const k = split(keep.value);
    if (!n) { say(st, 'Give the site a name.', false); name.focus(); return; }
    if (!o.length) { say(st, 'Give at least one origin, like https://shop.example.', false); origins.focus(); return; }
    const existing = known.has(n);
    add.disabled = true; say(st, existing ? 'Adding origins…' : 'Adding…');
    let x;
    try {
      // Kept parameters only when given for a site that exists, so that
      // adding an origin leaves its settings alone.
      const body = existing && !k.length ? { name: n, origins: o } : { name: n, origins: o, keep_query: k };
      x = await apiSend('POST', '/api/sites', body);
    } catch (ex) {
      if (ex.status === 401) return;
      add.disabled = false;
      say(st, ex.message, false);
      return;
    }
    const site = x.name || n;
    const text = existing ? 'Added ' + o.length + (o.length === 1 ? ' origin' : ' origins') + ' to ' + site + '.' : 'Added ' + site + '.';
    // The site picker learns the new site now (no reload); the table too.
    try { await ctx.refreshSites(); } catch (ex) { if (ex.status !== 401) say(st, text + ' The site list did not reload: ' + ex.message, false); return; }
    if (ctx.isCurrent()) await renderSites(box, ctx, { text, site }).catch(failed(box));
  });
  clear(box).append(rows, h('h3.sub-head', 'Add a site or origins'), form);
}
