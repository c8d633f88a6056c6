#!/usr/bin/env node
// Regenerates every .html page of the Trailhead Outfitters demo shop from
// js/catalog.js (the single source of product data) and the templates below.
// Usage: node examples/storefront/generate.mjs   (no dependencies)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const root = dirname(fileURLToPath(import.meta.url));
const ctx = {};
vm.runInNewContext(readFileSync(join(root, 'js/catalog.js'), 'utf8'), ctx);
const { products, categories, byId, art } = ctx.TH_CATALOG;

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const money = (n) => '$' + n.toFixed(2);
const stars = (r) => '\u2605'.repeat(Math.round(r)) + '\u2606'.repeat(5 - Math.round(r));


function nav(path) {
  const links = [['/category/shoes.html', 'Shoes'], ['/category/bags.html', 'Bags'], ['/category/hats.html', 'Hats'],
    ['/gifts/', 'Gift finder'], ['/help/faq.html', 'Help']];
  return links.map(([href, label]) => `<a href="${href}"${href === path ? ' aria-current="page"' : ''}>${label}</a>`).join('\n      ');
}

function page({ path, title, description, pageId, body, head = '', scripts = '' }) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<meta name="description" content="${esc(description)}">
${head}<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/css/shop.css">
<script>window.trailmap=window.trailmap||function(){(trailmap.q=trailmap.q||[]).push(arguments)}</script>
<script defer src="{{TRAILMAP_URL}}/t.js" data-site="{{TRAILMAP_SITE}}" data-errors data-replay></script>
<script defer src="/js/catalog.js"></script>
<script defer src="/js/shop.js"></script>
${scripts}</head>
<body data-page="${pageId}">
<a class="skip" href="#main">Skip to content</a>
<header class="site-header">
  <div class="wrap header-bar">
    <a class="logo" href="/"><span>Trailhead <b>Outfitters</b></span></a>
    <form class="search" id="search-form" action="/search.html" method="get" role="search">
      <label class="sr-only" for="search-input">Search products</label>
      <input id="search-input" name="q" type="search" placeholder="Search boots, packs, hats\u2026" autocomplete="off">
      <button type="submit" class="btn">Search</button>
    </form>
    <a class="cart-link" id="cart-link" href="/cart.html">Cart <span class="cart-count" id="cart-count">0</span></a>
  </div>
  <nav class="main-nav" aria-label="Main">
    <div class="wrap">
      ${nav(path)}
    </div>
  </nav>
</header>
<main id="main" class="wrap">
${body.trim()}
</main>
<footer class="site-footer">
  <div class="wrap footer-bar">
    <p><span class="logo"><span>Trailhead <b>Outfitters</b></span></span><br>Gear for the trail since 2009. A demo shop for trailmap: nothing here is for sale.</p>
    <nav aria-label="Footer"><a href="/help/faq.html">FAQ</a><a href="/help/faq.html#faq-shipping">Shipping</a><a href="/help/faq.html#faq-returns">Returns</a><a href="/help/contact.html">Contact us</a><a href="/gifts/">Gift finder</a></nav>
  </div>
</footer>
</body>
</html>
`;
}

function card(p, headingLevel = 3) {
  return `<article class="card product-card">
  <a class="card-link" href="/product/${p.id}.html">
    <div class="card-img">${art(p)}</div>
    <h${headingLevel} class="card-title">${esc(p.name)}</h${headingLevel}>
  </a>
  <p class="card-blurb">${esc(p.blurb)}</p>
  <p class="card-meta"><span class="price">${money(p.price)}</span> <span class="stars" title="${p.rating} out of 5">${stars(p.rating)} <small>(${p.reviews})</small></span></p>
</article>`;
}

const grid = (list, level = 3) => `<div class="grid product-grid">\n${list.map((p) => card(p, level)).join('\n')}\n</div>`;

const files = {};
const add = (file, opts) => { files[file] = page(opts); };

// ---------------------------------------------------------------- home
add('index.html', {
  path: '/', pageId: 'home', title: 'Trailhead Outfitters \u2014 Outdoor shoes, bags & hats',
  description: 'Hiking boots, trail runners, daypacks and hats for every trail.',
  body: `
<section class="hero">
  <div class="hero-text">
    <p class="eyebrow">New season, new trails</p>
    <h1>Gear that goes the distance.</h1>
    <p>Waterproof hikers, featherweight packs and hats that pack flat. Tested on real trails by real people.</p>
    <p class="hero-cta"><a class="btn btn-primary" href="/category/shoes.html">Shop shoes</a> <a class="btn btn-ghost" href="/gifts/">Find a gift</a></p>
  </div>
  <div class="hero-art" aria-hidden="true">${art(byId(101))}</div>
</section>

<div class="promo" id="promo-banner" title="Spring trail sale">
  <strong>Spring trail sale</strong> <span>Up to 30% off packs \u2014 tap to claim your code</span> <span class="promo-arrow" aria-hidden="true">\u2192</span>
</div>

<section aria-labelledby="cat-h">
  <h2 id="cat-h">Shop by category</h2>
  <div class="grid cat-grid">
${['shoes', 'bags', 'hats'].map((c) => `    <a class="card cat-card" href="/category/${c}.html"><div class="card-img">${art(products.find((p) => p.category === c && p.id !== 101) || products[0])}</div><span>${categories[c].name}</span></a>`).join('\n')}
  </div>
</section>

<section aria-labelledby="feat-h">
  <h2 id="feat-h">Featured</h2>
${grid([101, 105, 108, 102].map(byId))}
</section>

<section class="split">
  <div class="card panel">
    <h2>Need a hand?</h2>
    <p>Sizing questions, delivery times, returns \u2014 our trail-tested team has answers.</p>
    <p><a class="btn btn-ghost" id="help-link" href="/help/faq.html">Visit the help centre</a></p>
  </div>
  <form class="card panel" id="newsletter-form">
    <h2>Trail notes, monthly</h2>
    <p>New gear, route ideas and members-only sales. No spam, ever.</p>
    <label class="sr-only" for="newsletter-email">Email address</label>
    <div class="inline-form">
      <input id="newsletter-email" name="email" type="email" placeholder="you@example.com" required autocomplete="email">
      <button class="btn btn-primary" id="newsletter-submit" type="submit">Subscribe</button>
    </div>
    <p class="form-note" id="newsletter-msg" role="status"></p>
  </form>
</section>`
});

// ---------------------------------------------------------------- categories
for (const [slug, cat] of Object.entries(categories)) {
  add(`category/${slug}.html`, {
    path: `/category/${slug}.html`, pageId: 'category', title: `${cat.name} \u2014 Trailhead Outfitters`,
    description: cat.intro,
    body: `
<nav class="crumbs" aria-label="Breadcrumb"><a href="/">Home</a> / <span>${cat.name}</span></nav>
<h1>${cat.name}</h1>
<p class="lead">${esc(cat.intro)}</p>
${grid(products.filter((p) => p.category === slug), 2)}`
  });
}

// ---------------------------------------------------------------- products
const COMPARE = [101, 102, 104];
for (const p of products) {
  const cat = categories[p.category];
  const related = products.filter((q) => q.category === p.category && q.id !== p.id).slice(0, 3);
  add(`product/${p.id}.html`, {
    path: `/product/${p.id}.html`, pageId: 'product', title: `${p.name} \u2014 Trailhead Outfitters`,
    description: p.blurb,
    body: `
<nav class="crumbs" aria-label="Breadcrumb"><a href="/">Home</a> / <a href="/category/${p.category}.html">${cat.name}</a> / <span>${esc(p.name)}</span></nav>
<div class="product">
  <div class="product-img card" role="img" aria-label="${esc(p.name)}">${art(p)}</div>
  <div class="product-info">
    <h1>${esc(p.name)}</h1>
    <p class="stars" title="${p.rating} out of 5">${stars(p.rating)} <small>${p.rating} \u00b7 ${p.reviews} reviews</small></p>
    <p class="price price-lg" id="product-price">${money(p.price)}</p>
    <p>${esc(p.description)}</p>
    <ul class="features">
${p.features.map((f) => `      <li>${esc(f)}</li>`).join('\n')}
    </ul>
    <form class="buy" id="product-form" data-id="${p.id}">
      <div class="field">
        <label for="size">Size</label>
        <select id="size" name="size">
${p.sizes.map((s) => `          <option>${esc(s)}</option>`).join('\n')}
        </select>
      </div>
      <div class="field field-qty">
        <label for="qty">Quantity</label>
        <input id="qty" name="qty" type="number" min="1" max="10" value="1" inputmode="numeric">
      </div>
      <button class="btn btn-primary btn-lg" id="add-to-cart" type="submit">Add to cart</button>
    </form>
    <p class="form-note" id="added-msg" role="status"></p>
${COMPARE.includes(p.id) && p.id === 101 ? '    <p><a class="compare-link" id="compare-link" href="/compare.html">Compare with other hiking shoes \u2192</a></p>\n' : ''}    <p class="muted small">Free 30-day returns \u00b7 Ships in 1\u20132 business days</p>
  </div>
</div>
<section aria-labelledby="rel-h">
  <h2 id="rel-h">You might also like</h2>
  <div class="grid product-grid" data-products="${related.map((q) => q.id).join(',')}"></div>
</section>`
  });
}

// ---------------------------------------------------------------- compare
{
  const list = COMPARE.map(byId);
  const row = (label, fn) => `      <tr><th scope="row">${label}</th>${list.map((p) => `<td>${fn(p)}</td>`).join('')}</tr>`;
  add('compare.html', {
    path: '/compare.html', pageId: 'compare', title: 'Compare hiking shoes \u2014 Trailhead Outfitters',
    description: 'Side-by-side comparison of our best hiking shoes.',
    body: `
<nav class="crumbs" aria-label="Breadcrumb"><a href="/">Home</a> / <a href="/category/shoes.html">Shoes</a> / <span>Compare</span></nav>
<h1>Compare hiking shoes</h1>
<p class="lead">Not sure which pair fits your plans? Here is how our three most popular shoes stack up.</p>
<div class="table-scroll card">
  <table class="compare" id="compare-table">
    <thead>
      <tr><th scope="col"><span class="sr-only">Feature</span></th>${list.map((p) => `<th scope="col"><a href="/product/${p.id}.html">${art(p)}<span>${esc(p.name)}</span></a></th>`).join('')}</tr>
    </thead>
    <tbody>
${row('Price', (p) => `<span class="price">${money(p.price)}</span>`)}
${row('Rating', (p) => `<span class="stars">${stars(p.rating)}</span> ${p.rating}`)}
${row('Weight', (p) => p.specs.weight)}
${row('Waterproof', (p) => p.specs.waterproof)}
${row('Cut', (p) => p.specs.cut)}
${row('Heel-to-toe drop', (p) => p.specs.drop)}
${row('Best for', (p) => p.specs.bestFor)}
${row('', (p) => `<a class="btn btn-primary" href="/product/${p.id}.html">View</a>`)}
    </tbody>
  </table>
</div>`
  });
}

// ---------------------------------------------------------------- search
add('search.html', {
  path: '/search.html', pageId: 'search', title: 'Search \u2014 Trailhead Outfitters',
  description: 'Search the Trailhead Outfitters catalog.',
  body: `
<h1>Search</h1>
<p class="lead" id="search-summary" role="status">Type a word like \u201cboot\u201d, \u201cwaterproof\u201d or \u201cwool\u201d in the search box above.</p>
<div class="grid product-grid" id="search-results"></div>
<section id="search-suggest" hidden>
  <h2>Popular right now</h2>
  <div class="grid product-grid" data-products="105,101,109"></div>
</section>`
});

// ---------------------------------------------------------------- cart
add('cart.html', {
  path: '/cart.html', pageId: 'cart', title: 'Your cart \u2014 Trailhead Outfitters',
  description: 'Review the items in your cart.',
  body: `
<h1>Your cart</h1>
<div class="cart-layout">
  <section class="cart-items" id="cart-items" aria-live="polite">
    <p class="muted">Loading your cart\u2026</p>
  </section>
  <aside class="card summary">
    <h2>Order summary</h2>
    <div class="row"><span>Subtotal</span><strong id="cart-subtotal">$0.00</strong></div>
    <div class="row muted"><span>Shipping</span><span>Calculated at checkout</span></div>
    <button class="btn btn-primary btn-block btn-lg" id="checkout" type="button">Checkout</button>
    <p class="muted small center">Secure checkout \u00b7 Free 30-day returns</p>
    <div class="account-box" id="account-box" data-trailmap-ignore>
      <span class="small muted">Your account number</span>
      <strong>TH-4821-7730-19</strong>
      <span class="small muted">Jamie Rivera \u00b7 1,240 trail points</span>
    </div>
  </aside>
</div>`
});

// ---------------------------------------------------------------- checkout
const steps = (n) => `<ol class="steps" aria-label="Checkout progress">${['Address', 'Shipping', 'Payment'].map((s, i) =>
  `<li${i + 1 === n ? ' aria-current="step"' : ''}${i + 1 < n ? ' class="done"' : ''}>${s}</li>`).join('')}</ol>`;
const summary = (extra = '') => `<aside class="card summary" id="order-summary">
    <h2>Order summary</h2>
    <ul class="summary-items" id="summary-items"></ul>
    <div class="row"><span>Subtotal</span><strong id="summary-subtotal">$0.00</strong></div>
${extra}  </aside>`;

add('checkout/address.html', {
  path: '/checkout/address.html', pageId: 'checkout-address', title: 'Checkout: address \u2014 Trailhead Outfitters',
  description: 'Checkout step 1 of 3: delivery address.',
  body: `
${steps(1)}
<div class="cart-layout">
  <form class="card panel checkout-form" id="address-form">
    <h1>Where should we send it?</h1>
    <div class="field"><label for="name">Full name</label><input id="name" name="name" autocomplete="name" required></div>
    <div class="field"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email" required></div>
    <div class="field"><label for="street">Street address</label><input id="street" name="street" autocomplete="street-address" required></div>
    <div class="field"><label for="city">City</label><input id="city" name="city" autocomplete="address-level2" required></div>
    <div class="form-actions"><a href="/cart.html">\u2190 Back to cart</a><button class="btn btn-primary btn-lg" id="to-shipping" type="submit">Continue</button></div>
  </form>
  ${summary('    <div class="row muted"><span>Shipping</span><span>Next step</span></div>\n')}
</div>`
});

add('checkout/shipping.html', {
  path: '/checkout/shipping.html', pageId: 'checkout-shipping', title: 'Checkout: shipping \u2014 Trailhead Outfitters',
  description: 'Checkout step 2 of 3: choose a delivery speed.',
  body: `
${steps(2)}
<div class="cart-layout">
  <form class="card panel checkout-form" id="shipping-form">
    <h1>Choose a delivery speed</h1>
    <fieldset class="ship-options">
      <legend class="sr-only">Shipping method</legend>
      <label class="ship-option"><input type="radio" name="shipping" id="ship-standard" value="standard" data-cost="7.95" checked><span><strong>Standard</strong><small>5\u20137 business days</small></span><span class="ship-cost">$7.95</span></label>
      <label class="ship-option"><input type="radio" name="shipping" id="ship-express" value="express" data-cost="14.95"><span><strong>Express</strong><small>2\u20133 business days</small></span><span class="ship-cost">$14.95</span></label>
      <label class="ship-option"><input type="radio" name="shipping" id="ship-nextday" value="nextday" data-cost="24.95"><span><strong>Next day</strong><small>Order by 2 pm</small></span><span class="ship-cost">$24.95</span></label>
    </fieldset>
    <div class="form-actions"><a href="/checkout/address.html">\u2190 Back</a><button class="btn btn-primary btn-lg" id="to-payment" type="submit">Continue</button></div>
  </form>
  ${summary(`    <div class="row"><span>Shipping</span><strong id="summary-shipping">$7.95</strong></div>
    <div class="row total"><span>Total</span><strong id="summary-total">$7.95</strong></div>
`)}
</div>`
});

add('checkout/payment.html', {
  path: '/checkout/payment.html', pageId: 'checkout-payment', title: 'Checkout: payment \u2014 Trailhead Outfitters',
  description: 'Checkout step 3 of 3: payment.',
  body: `
${steps(3)}
<div class="cart-layout">
  <form class="card panel checkout-form" id="payment-form" autocomplete="off">
    <h1>Payment</h1>
    <p class="notice">Demo shop: no payment is taken. Any values work, and the fields may be left empty.</p>
    <div class="field"><label for="card-name">Name on card</label><input id="card-name" name="card-name" placeholder="Jamie Rivera"></div>
    <div class="field"><label for="card-number">Card number</label><input id="card-number" name="card-number" inputmode="numeric" placeholder="4242 4242 4242 4242"></div>
    <div class="field-row">
      <div class="field"><label for="card-exp">Expiry</label><input id="card-exp" name="card-exp" placeholder="MM/YY"></div>
      <div class="field"><label for="card-cvc">CVC</label><input id="card-cvc" name="card-cvc" inputmode="numeric" placeholder="123"></div>
    </div>
    <div class="form-actions"><a href="/checkout/shipping.html">\u2190 Back</a><button class="btn btn-primary btn-lg" id="pay" type="submit">Pay</button></div>
  </form>
  ${summary(`    <div class="row"><span>Shipping <small id="summary-method"></small></span><strong id="summary-shipping">$7.95</strong></div>
    <div class="row total"><span>Total</span><strong id="summary-total">$7.95</strong></div>
`)}
</div>`
});

add('thank-you.html', {
  path: '/thank-you.html', pageId: 'thank-you', title: 'Thank you for your order \u2014 Trailhead Outfitters',
  description: 'Order confirmation.',
  body: `
<section class="card panel confirm" id="confirmation">
  <div class="confirm-mark" aria-hidden="true">\u2713</div>
  <h1>Thank you for your order!</h1>
  <p class="lead" id="order-lead">Order <strong id="order-number">\u2014</strong> is confirmed. A receipt is on its way to your inbox.</p>
  <ul class="summary-items" id="order-items"></ul>
  <div class="row total"><span>Total paid</span><strong id="order-total">$0.00</strong></div>
  <p><a class="btn btn-primary" href="/">Continue shopping</a></p>
</section>`
});

// ---------------------------------------------------------------- help
const faq = [
  ['faq-shipping', 'How much is shipping?', 'Standard delivery (5\u20137 business days) is $7.95, Express (2\u20133 business days) is $14.95 and Next day is $24.95. You choose the speed, and see the cost, at the shipping step of checkout.'],
  ['faq-delivery', 'When will my order arrive?', 'Orders placed before 2 pm ship the same business day. Delivery time then depends on the speed you chose at checkout.'],
  ['faq-returns', 'What is your return policy?', 'Unworn items can be returned within 30 days for a full refund. Boots you have worn on the trail? We still take them back within 30 days if they did not work out.'],
  ['faq-sizing', 'How do your shoes fit?', 'Our shoes run true to size. If you are between sizes, or plan to wear thick hiking socks, go half a size up.'],
  ['faq-warranty', 'Is there a warranty?', 'Every bag is covered by a lifetime warranty against manufacturing defects. Shoes and hats are covered for two years.'],
  ['faq-account', 'Do I need an account to order?', 'No. You can check out as a guest. An account just lets you collect trail points.']
];
add('help/faq.html', {
  path: '/help/faq.html', pageId: 'faq', title: 'Help & FAQ \u2014 Trailhead Outfitters',
  description: 'Answers about shipping, returns, sizing and warranty.',
  body: `
<nav class="crumbs" aria-label="Breadcrumb"><a href="/">Home</a> / <span>Help</span></nav>
<h1>Help &amp; FAQ</h1>
<p class="lead">Quick answers to the questions we hear most. Still stuck? <a href="/help/contact.html" id="contact-link">Contact us</a>.</p>
<div class="faq">
${faq.map(([id, q, a]) => `  <details id="${id}">\n    <summary>${esc(q)}</summary>\n    <p>${esc(a)}</p>\n  </details>`).join('\n')}
</div>`
});

add('help/contact.html', {
  path: '/help/contact.html', pageId: 'contact', title: 'Contact us \u2014 Trailhead Outfitters',
  description: 'Get in touch with the Trailhead Outfitters team.',
  body: `
<nav class="crumbs" aria-label="Breadcrumb"><a href="/">Home</a> / <a href="/help/faq.html">Help</a> / <span>Contact</span></nav>
<h1>Contact us</h1>
<div class="cart-layout">
  <form class="card panel" id="contact-form">
    <div class="field"><label for="contact-name">Name</label><input id="contact-name" name="name" autocomplete="name" required></div>
    <div class="field"><label for="contact-email">Email</label><input id="contact-email" name="email" type="email" autocomplete="email" required></div>
    <div class="field"><label for="contact-message">How can we help?</label><textarea id="contact-message" name="message" rows="5" required></textarea></div>
    <div class="form-actions"><span></span><button class="btn btn-primary" id="contact-submit" type="submit">Send message</button></div>
    <p class="form-note" id="contact-msg" role="status"></p>
  </form>
  <aside class="card panel">
    <h2>Other ways to reach us</h2>
    <p><strong>Phone</strong><br>+1 (555) 010-2009<br><span class="muted small">Mon\u2013Fri, 8 am\u20136 pm MT</span></p>
    <p><strong>Email</strong><br>help@trailhead.example</p>
    <p><strong>Store</strong><br>12 Canyon Road, Boulder, CO</p>
  </aside>
</div>`
});

// ---------------------------------------------------------------- 404
add('404.html', {
  path: '/404.html', pageId: 'not-found', title: 'Page not found \u2014 Trailhead Outfitters',
  description: 'This page could not be found.',
  head: '<meta name="trailmap-status" content="404">\n',
  body: `
<section class="card panel confirm">
  <div class="confirm-mark warn" aria-hidden="true">?</div>
  <h1>This trail doesn\u2019t go anywhere</h1>
  <p class="lead">The page you were looking for has moved or never existed.</p>
  <p><a class="btn btn-primary" href="/">Back to the homepage</a> <a class="btn btn-ghost" href="/search.html">Search the shop</a></p>
</section>`
});

// ---------------------------------------------------------------- gift finder (SPA)
const choice = (id, title, sub) => `<button class="choice" id="${id}" type="button"><strong>${title}</strong><small>${sub}</small></button>`;
add('gifts/index.html', {
  path: '/gifts/', pageId: 'gifts', title: 'Gift finder \u2014 Trailhead Outfitters',
  description: 'Find the perfect outdoor gift in three clicks.',
  scripts: '<script defer src="/js/gifts.js"></script>\n',
  body: `
<div class="gift-app card panel" id="gift-app">
  <ol class="steps" id="gift-steps" aria-label="Gift finder progress"><li data-for="who">Who</li><li data-for="budget">Budget</li><li data-for="results">Ideas</li></ol>
  <section data-step="start" id="gift-step-start">
    <p class="eyebrow">Gift finder</p>
    <h1>Find the perfect gift for someone who loves the outdoors</h1>
    <p class="lead">Two quick questions and we\u2019ll suggest gear they\u2019ll actually use.</p>
    <button class="btn btn-primary btn-lg" id="gift-start" type="button">Start</button>
  </section>
  <section data-step="who" id="gift-step-who" hidden>
    <h1>Who is it for?</h1>
    <div class="choices">${choice('who-partner', 'My partner', 'Someone who shares the trail with you')}${choice('who-friend', 'A friend', 'The one always planning the next trip')}</div>
  </section>
  <section data-step="budget" id="gift-step-budget" hidden>
    <h1>What\u2019s your budget?</h1>
    <div class="choices">${choice('budget-low', 'Under $50', 'Stocking fillers and small treats')}${choice('budget-high', '$50 and up', 'Something they\u2019ll use for years')}</div>
  </section>
  <section data-step="results" id="gift-step-results" hidden>
    <h1 id="gift-results-title">Gift ideas</h1>
    <div class="grid product-grid" id="gift-results"></div>
    <p><button class="btn btn-ghost" id="gift-restart" type="button">Start over</button></p>
  </section>
  <p class="gift-back-row"><button class="linkish" id="gift-back" type="button" hidden>\u2190 Back</button></p>
</div>`
});

for (const [file, html] of Object.entries(files)) {
  const out = join(root, file);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, html.replace(/^[ \t]+/gm, '').replace(/\n{2,}/g, '\n')); // drop indentation to keep the pages small
}
console.log(`wrote ${Object.keys(files).length} pages`);
