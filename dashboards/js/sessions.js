import { h } from './core.js'; export function render(el) { el.appendChild(h('h1', 'sessions')); }
