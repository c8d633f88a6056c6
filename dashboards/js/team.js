// Team: who may sign in (users, for admins of every site), read-only share
// links of the current site, and the signed-in user's own API tokens.
// The nav offers it to admins only; the server refuses others anyway.
// Names, labels and sites come from people: rendered as text (h()) only.
import { h, api, apiSend, clear, fmt, card, table, empty, loading, errorBox } from './core.js';

// What a share link can be limited to: the read-only views ('' = any).
const SHARE_VIEWS = [
  ['', 'Any view'], ['overview', 'Overview'], ['realtime', 'Now'], ['journeys', 'Journeys'], ['transitions', 'Transitions'],
  ['heatmaps', 'Heatmaps'], ['sessions', 'Sessions'], ['funnels', 'Funnels'], ['stages', 'Stages'], ['conversions', 'Conversions'], ['friction', 'Friction'],
];
const viewLabel = (v) => (SHARE_VIEWS.find((x) => x[0] === (v || '')) || [v, v])[1];

const when = (iso) => (iso ? fmt.time(Date.parse(iso)) : '–');
const failed = (box) => (e) => { if (e.name !== 'AbortError' && e.status !== 401) clear(box).appendChild(errorBox(e)); };
const status = () => h('div.form-status', { role: 'status' });
function say(el, text, ok) { el.className = 'form-status' + (ok === true ? ' ok' : ok === false ? ' err' : ''); el.textContent = text; }

// A secret shown once (a share link, a new API token): a read-only input
// to select from, and a Copy button.
function shownOnce(id, value, note) {
  const input = h('input.mono.once-value#' + id, { type: 'text', readonly: true, value, spellcheck: 'false', 'aria-label': note });
  const copy = h('button.btn.btn-sm', { type: 'button' }, 'Copy');
  copy.addEventListener('click', async () => {
    input.select();
    try { await navigator.clipboard.writeText(input.value); copy.textContent = 'Copied'; } catch {
      copy.textContent = 'Select and copy';
    }
    setTimeout(() => { copy.textContent = 'Copy'; }, 1600);
  });
  input.addEventListener('focus', () => input.select());
  return h('div.once', h('p.small.muted', note), h('div.once-row', input, copy));
}

export async function render(el, ctx) {
  const s = ctx.session;
  el.appendChild(h('div.view-head', h('h1', 'Team'),
    h('p.muted', 'Who can sign in, read-only links to ' + ctx.site + ', and your own API tokens.')));
  const jobs = [];
  // Users of the whole server: only an admin of every site manages them.
  if (s.sites === null) {
    const box = h('div', loading());
    el.appendChild(card('Users', box, { cls: 'team-users', sub: 'who can sign in with a name and password' }));
    jobs.push(renderUsers(box, ctx).catch(failed(box)));
  }
  const shareBox = h('div', loading());
  el.appendChild(card('Share links of ' + ctx.site, shareBox, { cls: 'team-shares', sub: 'read-only, no account needed' }));
  jobs.push(renderShares(shareBox, ctx).catch(failed(shareBox)));
  const tokBox = h('div', loading());
  el.appendChild(card('My API tokens', tokBox, { cls: 'team-tokens', sub: 'for scripts: Authorization: Bearer <token>' }));
  if (s.name) jobs.push(renderTokens(tokBox, ctx).catch(failed(tokBox)));
  else clear(tokBox).appendChild(empty('Signed in with the server token, which has no tokens of its own.', 'Sign in as a user to make API tokens for that user.'));
  await Promise.all(jobs);
}

// ---------- users ----------
async function renderUsers(box, ctx) {
  const data = await api('/api/users', null, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const users = data.users || [];
  const st = status();
  const reload = () => renderUsers(box, ctx).catch(failed(box));
  const remove = async (u, btn) => {
    if (!window.confirm('Remove ' + u.name + '? Their sessions and API tokens end now.')) return;
    btn.disabled = true;
    try { await apiSend('DELETE', '/api/users/' + encodeURIComponent(u.name)); reload(); } catch (e) { btn.disabled = false; say(st, e.message, false); }
  };
  const list = table([
    { label: 'Name', render: (u) => h('strong', u.name) },
    { label: 'Role', render: (u) => h('span.role-tag', { class: 'role-' + u.role }, u.role) },
    { label: 'Sites', render: (u) => (u.sites ? u.sites.join(', ') : h('span.muted', 'All sites')) },
    { label: 'Created', render: (u) => when(u.created) },
    {
      label: '', cls: 'row-btn',
      render: (u) => {
        const self = u.name === ctx.session.name;
        const btn = h('button.btn.btn-sm.btn-danger', {
          type: 'button', disabled: self, title: self ? 'You cannot remove yourself' : 'Remove ' + u.name, dataset: { user: u.name },
        }, 'Remove');
        btn.addEventListener('click', () => remove(u, btn));
        return btn;
      },
    },
  ], users, { empty: 'No users yet: only the server token can sign in.', cls: 'users-table' });

  // Add a user: the sites come from /api/sites (every site, for this admin).
  const name = h('input#user-name', { type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', required: true });
  const role = h('select#user-role', h('option', { value: 'viewer' }, 'Viewer (read only)'), h('option', { value: 'admin' }, 'Admin'));
  const pass = h('input#user-password', { type: 'password', autocomplete: 'new-password', minlength: 8, required: true });
  const all = h('input#user-all-sites', { type: 'checkbox', checked: true });
  const siteBoxes = (ctx.sites || []).map((x) => h('input', { type: 'checkbox', value: x.name, dataset: { site: x.name } }));
  const pick = h('div.site-checks#user-sites', siteBoxes.map((c) => h('label.tb-check', c, c.value)));
  const syncAll = () => { for (const c of siteBoxes) c.disabled = all.checked; };
  all.addEventListener('change', syncAll);
  syncAll();
  const add = h('button.btn.btn-primary#user-add', { type: 'submit' }, 'Add user');
  const form = h('form.team-form#user-form', { autocomplete: 'off', novalidate: true },
    h('div.form-grid',
      h('label.field', h('span', 'Name'), name),
      h('label.field', h('span', 'Role'), role),
      h('label.field', h('span', 'Password'), pass, h('small.muted', 'At least 8 characters. Tell it to them yourself.'))),
    h('fieldset.field.sites-field', h('legend', 'Sites'),
      h('label.tb-check', all, 'All sites (and sites added later)'), pick),
    h('div.row-actions', add, st));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const sites = all.checked ? null : siteBoxes.filter((c) => c.checked).map((c) => c.value);
    if (!name.value.trim()) { say(st, 'Give the user a name.', false); name.focus(); return; }
    if (pass.value.length < 8) { say(st, 'The password needs at least 8 characters.', false); pass.focus(); return; }
    if (sites && !sites.length) { say(st, 'Pick at least one site, or All sites.', false); return; }
    add.disabled = true; say(st, 'Adding…');
    try {
      const u = await apiSend('POST', '/api/users', { name: name.value.trim(), role: role.value, password: pass.value, sites });
      await reload();
      say(box.querySelector('.form-status'), 'Added ' + (u.name || name.value.trim()) + '.', true);
    } catch (ex) { say(st, ex.message, false); } finally { add.disabled = false; }
  });
  clear(box).append(list, h('h3.sub-head', 'Add a user'), form);
}

// ---------- share links ----------
async function renderShares(box, ctx, created) {
  const base = ctx.base + '/shares';
  const data = await api(base, null, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const shares = data.shares || [];
  const st = status();
  const reload = (keep) => renderShares(box, ctx, keep).catch(failed(box));
  const now = Date.now();
  const list = table([
    { label: 'View', render: (x) => viewLabel(x.view) },
    {
      label: 'Expires',
      render: (x) => (!x.expires ? h('span.muted', 'Never') : Date.parse(x.expires) <= now ? h('span.bad', 'Expired') : when(x.expires)),
    },
    { label: 'Password', render: (x) => (x.password ? 'Yes' : 'No') },
    { label: 'Created', render: (x) => when(x.created) },
    { label: 'By', render: (x) => x.created_by || h('span.muted', 'API token') },
    {
      label: '', cls: 'row-btn',
      render: (x) => {
        const btn = h('button.btn.btn-sm.btn-danger', { type: 'button', dataset: { share: x.id } }, 'Revoke');
        btn.addEventListener('click', async () => {
          if (!window.confirm('Revoke this link? Whoever has it loses access at once.')) return;
          btn.disabled = true;
          try { await apiSend('DELETE', base + '/' + encodeURIComponent(x.id)); reload(); } catch (e) { btn.disabled = false; say(st, e.message, false); }
        });
        return btn;
      },
    },
  ], shares, { empty: 'No share links of this site.', cls: 'shares-table' });

  const view = h('select#share-view', SHARE_VIEWS.map(([v, l]) => h('option', { value: v }, l)));
  const days = h('input#share-expires', { type: 'number', min: 1, max: 3650, step: 1, placeholder: 'never', inputmode: 'numeric' });
  const pass = h('input#share-password', { type: 'password', autocomplete: 'new-password', placeholder: 'none' });
  const make = h('button.btn.btn-primary#share-create', { type: 'submit' }, 'Create link');
  const out = h('div#share-result');
  if (created) out.appendChild(shownOnce('share-url', location.origin + created, 'The link (shown only now: copy it). Anyone with it sees ' + ctx.site + ' read-only.'));
  const form = h('form.team-form#share-form', { autocomplete: 'off', novalidate: true },
    h('div.form-grid',
      h('label.field', h('span', 'Limited to'), view),
      h('label.field', h('span', 'Expires in days'), days, h('small.muted', 'Empty: never.')),
      h('label.field', h('span', 'Password'), pass, h('small.muted', 'Optional: asked when the link is opened.'))),
    h('div.row-actions', make, st), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const d = days.value.trim();
    const n = d === '' ? null : Number(d);
    if (n !== null && !(Number.isInteger(n) && n >= 1 && n <= 3650)) { say(st, 'Expiry: a whole number of days from 1 to 3650, or empty.', false); days.focus(); return; }
    make.disabled = true; say(st, 'Creating…');
    try {
      const sh = await apiSend('POST', base, { view: view.value || null, expires_days: n, password: pass.value || null });
      await reload(sh.url);
    } catch (ex) { say(st, ex.message, false); make.disabled = false; }
  });
  clear(box).append(list, h('h3.sub-head', 'New share link'), form);
  const url = box.querySelector('#share-url');
  if (url) url.focus();
}

// ---------- API tokens ----------
async function renderTokens(box, ctx, fresh) {
  const data = await api('/api/tokens', null, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const tokens = data.tokens || [];
  const st = status();
  const reload = (keep) => renderTokens(box, ctx, keep).catch(failed(box));
  const list = table([
    { label: 'Label', render: (t) => t.label || h('span.muted', '(no label)') },
    { label: 'Created', render: (t) => when(t.created) },
    {
      label: '', cls: 'row-btn',
      render: (t) => {
        const btn = h('button.btn.btn-sm.btn-danger', { type: 'button', dataset: { token: t.id } }, 'Delete');
        btn.addEventListener('click', async () => {
          if (!window.confirm('Delete the token ' + (t.label || t.id) + '? Scripts using it stop working.')) return;
          btn.disabled = true;
          try { await apiSend('DELETE', '/api/tokens/' + encodeURIComponent(t.id)); reload(); } catch (e) { btn.disabled = false; say(st, e.message, false); }
        });
        return btn;
      },
    },
  ], tokens, { empty: 'No API tokens.', cls: 'tokens-table' });
  const label = h('input#token-label', { type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. ci, export script', maxlength: 100 });
  const make = h('button.btn.btn-primary#token-create', { type: 'submit' }, 'Create token');
  const out = h('div#token-result');
  if (fresh) out.appendChild(shownOnce('new-token', fresh, 'The new token, shown only now: copy it. It acts as you, with your role and sites.'));
  const form = h('form.team-form#token-form', { autocomplete: 'off', novalidate: true },
    h('label.field', h('span', 'Label'), label),
    h('div.row-actions', make, st), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    make.disabled = true; say(st, 'Creating…');
    try {
      const t = await apiSend('POST', '/api/tokens', { label: label.value.trim() });
      await reload(t.token);
    } catch (ex) { say(st, ex.message, false); make.disabled = false; }
  });
  clear(box).append(list, h('h3.sub-head', 'New token'), form);
}
