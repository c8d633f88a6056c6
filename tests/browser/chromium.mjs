// How every browser test starts Chromium: Debian's /usr/bin/chromium (or
// $CHROMIUM) driven by playwright-core from tracker-js/node_modules (or
// the package.json named by $PLAYWRIGHT_FROM), headless, with the flags
// this sandboxed machine needs (no background networking: its network is
// closed, and Chromium would retry forever).
import { createRequire } from 'node:module';

const require = createRequire(process.env.PLAYWRIGHT_FROM || new URL('../../tracker-js/package.json', import.meta.url));
export const { chromium } = require('playwright-core');

export const LAUNCH = {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

export const launch = () => chromium.launch(LAUNCH);
