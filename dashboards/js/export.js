// CSV downloads for every table the dashboards show: each card holding a
// table (or a bar list) gets a "CSV" button that saves what the table
// shows, its header row first. Link chips and buttons inside cells
// ("heatmap · sessions · flow", "Open") are not data and are left out.
// A change column holds the signed change (the earlier value beside it
// on screen is left out).
// Cells that a spreadsheet would run as a formula (=, +, -, @ before
// anything but a number) are written with a leading apostrophe.
import { h } from './core.js';

const SKIP = '.acts, .row-acts, button:not(.bl-label), .bar, .meter, small';

function cellText(cell) {
  const c = cell.cloneNode(true);
  // A change against the earlier range is written signed (+12%, -3.5 pts).
  for (const x of c.querySelectorAll('.delta[data-csv]')) x.replaceWith(x.dataset.csv);
  for (const x of c.querySelectorAll(SKIP)) x.remove();
  return (c.textContent || '').replace(/\s+/g, ' ').trim();
}

function rowsOf(box) {
  const table = box.querySelector('table');
  if (table) {
    return [...table.querySelectorAll('tr')].map((tr) => [...tr.querySelectorAll('th, td')].map(cellText))
      .filter((r) => r.length);
  }
  const list = box.querySelector('[role=table]');
  if (!list) return [];
  return [...list.querySelectorAll('[role=row]')].map((row) => [...row.querySelectorAll('[role=cell], [role=columnheader]')].map(cellText));
}

function field(v) {
  let s = String(v);
  if (/^[=+\-@]/.test(s) && !/^[+-]?\d[\d.,]*(%| pts)?$/.test(s)) s = "'" + s;
  return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

export function toCsv(rows) {
  return rows.map((r) => r.map(field).join(',')).join('\n') + '\n';
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = h('a', { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'table';

// Adds the button to every card of `root` with a table and a header.
export function addCsvButtons(root, viewId) {
  for (const c of root.querySelectorAll('.card')) {
    const head = c.querySelector(':scope > .card-head');
    if (!head || head.querySelector('.csv-btn') || !c.querySelector('table, [role=table]')) continue;
    const title = (head.querySelector('h2') || {}).textContent || 'table';
    head.appendChild(h('button.btn.btn-ghost.csv-btn', {
      type: 'button', title: 'Download this table as CSV', 'aria-label': 'Download ' + title + ' as CSV',
      on: { click: () => download(slug(viewId) + '-' + slug(title) + '.csv', toCsv(rowsOf(c))) },
    }, 'CSV'));
  }
}
