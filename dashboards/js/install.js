// Installing the tracker on the current site: the tag to paste (built here
// from this page's origin, which is the collector's: the dashboards are
// served by it) and the server's word on whether events have come in yet
// (GET /api/sites/{site}/install). Shown on the Sites view, and at the top
// of the Overview while a site has no sessions at all.
// Origins and times come from the server: rendered as text (h()) only.
import { h, api, clear, card } from './core.js';

// The tag exactly as a shop would paste it. The site name goes inside an
// attribute, so it is attribute-escaped (names are plain, but the snippet
// must stay valid whatever the server accepted). `errors` adds the
// JavaScript error capture, `replay` the layout recorder.
export function tagSnippet(origin, site, replay, errors = false) {
  const attr = (v) => String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return '<script defer src="' + attr(origin + '/t.js') + '" data-site="' + attr(site) + '"'
    + (errors ? ' data-errors' : '') + (replay ? ' data-replay' : '') + '></script>';
}

// A local date and time, seconds included (a first event is a moment).
const when = (iso) => new Date(Date.parse(iso)).toLocaleString(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const plural = (n, one, many) => n.toLocaleString() + ' ' + (n === 1 ? one : many);

// Whether the site has had any event: a session from any source (an
// imported log counts, but the tag is what this card is about, hence the
// note when none came from the tracker).
export const hasEvents = (x) => !!(x && x.first_event && x.sessions > 0);

// The install card of ctx.site. `initial`: an answer of /install already
// fetched (the Overview asks before deciding to show the card).
export function installCard(ctx, { initial = null, title } = {}) {
  const site = ctx.site;
  const code = h('code', tagSnippet(location.origin, site, false));
  const pre = h('pre.snippet#tag-snippet', { tabindex: '0', 'aria-label': 'The tracker tag' }, code);
  const replay = h('input#tag-replay', { type: 'checkbox' });
  const errors = h('input#tag-errors', { type: 'checkbox' });
  const copy = h('button.btn.btn-sm#tag-copy', { type: 'button' }, 'Copy');
  const copied = h('span.small.muted#tag-copied', { role: 'status' });
  const retag = () => { code.textContent = tagSnippet(location.origin, site, replay.checked, errors.checked); copied.textContent = ''; };
  replay.addEventListener('change', retag);
  errors.addEventListener('change', retag);
  const selectTag = () => {
    const r = document.createRange();
    r.selectNodeContents(code);
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(r);
  };
  copy.addEventListener('click', async () => {
    // The clipboard needs permission (and a secure context); without it
    // the tag is selected for Ctrl+C / the context menu instead.
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(code.textContent);
      copy.textContent = 'Copied';
      copied.textContent = '';
    } catch {
      selectTag();
      copied.textContent = 'Selected: press Ctrl+C (or Cmd+C) to copy.';
    }
    setTimeout(() => { copy.textContent = 'Copy'; }, 1600);
  });

  const status = h('p.install-status#install-status', { role: 'status' }, 'Checking…');
  const checked = h('span.small.muted#install-checked');
  const again = h('button.btn.btn-sm#install-check', { type: 'button' }, 'Check again');
  const origins = h('p.small.muted.install-origins');
  // Who can add an origin: this admin in the Sites view, or else an admin.
  const s = ctx.session || {};
  const adder = s.kind !== 'share' && s.role === 'admin' && s.sites === null ? 'in the Sites view' : 'by an admin of every site';
  const show = (x) => {
    clear(origins);
    if (x.origins && x.origins.length) {
      origins.append('Events are accepted from ');
      x.origins.forEach((o, i) => origins.append(i ? ', ' : '', h('code', o)));
      origins.append('. A page on another address is refused until that address is added ' + adder + '.');
    } else origins.append('No address is registered for this site yet: its events are refused until one is added ' + adder + '.');
    if (!hasEvents(x)) {
      status.className = 'install-status pending';
      status.textContent = "No events yet: paste the tag in your shop's <head> and open a page";
      return;
    }
    status.className = 'install-status ok';
    const n = x.sessions || 0;
    const m = x.tracker_sessions || 0;
    // The server stops counting at 10,000 (`more`): "10,000+ sessions".
    const count = x.more ? n.toLocaleString() + '+ sessions' : plural(n, 'session', 'sessions');
    // The first origin the collector took an event from (the server lists
    // them earliest first); imported logs have none.
    const firstFrom = (x.origin_events || []).find((o) => o.first_event);
    // When the collector first heard from the shop, then the span of the
    // sessions (imported or backdated ones may start earlier).
    status.textContent = (firstFrom ? 'First event received from ' + firstFrom.origin + ' at ' + when(firstFrom.first_event) + '. ' : '')
      + 'Sessions from ' + when(x.first_event) + ' to ' + when(x.last_event || x.first_event)
      + '; ' + count + ' (' + m.toLocaleString() + (x.more ? '+' : '') + ' from the tracker)';
    if (!m) status.append(h('span.install-note', ' All of them were imported from logs: the tag has sent nothing yet.'));
  };
  const check = async () => {
    again.disabled = true;
    try {
      const x = await api(ctx.base + '/install', null, { signal: ctx.signal });
      if (!ctx.isCurrent()) return;
      show(x);
      checked.textContent = 'checked ' + new Date().toLocaleTimeString();
    } catch (e) {
      if (e.name === 'AbortError' || e.status === 401 || !ctx.isCurrent()) return;
      status.className = 'install-status err';
      status.textContent = 'Could not check: ' + e.message;
    } finally { again.disabled = false; }
  };
  again.addEventListener('click', check);
  if (initial) { show(initial); checked.textContent = 'checked ' + new Date().toLocaleTimeString(); } else check();

  const body = h('div.install',
    h('p', 'Paste this tag into the ', h('code', '<head>'), ' of every page of ', h('strong', site), ':'),
    pre,
    h('div.row-actions', copy, h('label.tb-check', replay, 'with session replay'), h('label.tb-check', errors, 'with JavaScript errors'), copied),
    origins,
    h('div.install-check', status, h('div.row-actions', again, checked)));
  return card(title || 'Install the tracker on ' + site, body, { cls: 'install-card', sub: 'one line, no cookies' });
}
