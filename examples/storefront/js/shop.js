/* Trailhead Outfitters shop behaviour: cart, search, checkout. Vanilla JS, no build. */
(function () {
  'use strict';
  var C = window.TH_CATALOG;
  var CART_KEY = 'th_cart', ORDER_KEY = 'th_last_order', SHIP_KEY = 'th_shipping', ADDR_KEY = 'th_address';
  var SHIPPING = {
    standard: { label: 'Standard', cost: 7.95 },
    express: { label: 'Express', cost: 14.95 },
    nextday: { label: 'Next day', cost: 24.95 }
  };

  function $(sel) { return document.querySelector(sel); }
  function money(n) { return '$' + n.toFixed(2); }
  function round(n) { return Math.round(n * 100) / 100; }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); }
  // Custom events go through the tracker's queue stub defined in <head>.
  function track(name, props) { if (typeof window.trailmap === 'function') window.trailmap(name, props || {}); }

  function load(store, key, fallback) {
    try { var v = JSON.parse(store.getItem(key)); return v == null ? fallback : v; } catch (e) { return fallback; }
  }
  function save(store, key, value) { try { store.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ } }

  // Cart lines: {id, size, qty}. Names and prices always come from the catalog.
  function getCart() {
    return load(localStorage, CART_KEY, []).filter(function (l) { return l && C.byId(l.id) && l.qty > 0; });
  }
  function setCart(cart) { save(localStorage, CART_KEY, cart); updateCount(); }
  function subtotal(cart) {
    return round(cart.reduce(function (s, l) { return s + C.byId(l.id).price * l.qty; }, 0));
  }
  function itemCount(cart) { return cart.reduce(function (s, l) { return s + l.qty; }, 0); }
  function updateCount() {
    var el = $('#cart-count');
    if (el) el.textContent = String(itemCount(getCart()));
  }
  function shipping() {
    var key = load(sessionStorage, SHIP_KEY, 'standard');
    return SHIPPING[key] ? { key: key, label: SHIPPING[key].label, cost: SHIPPING[key].cost } : { key: 'standard', label: 'Standard', cost: 7.95 };
  }
  function stars(r) { r = Math.round(r); return new Array(r + 1).join('\u2605') + new Array(6 - r).join('\u2606'); }
  function clampQty(v) { v = parseInt(v, 10); return isNaN(v) ? 1 : Math.max(1, Math.min(10, v)); }

  function cardHTML(p) {
    return '<article class="card product-card"><a class="card-link" href="/product/' + p.id + '.html">' +
      '<div class="card-img">' + C.art(p) + '</div><h3 class="card-title">' + esc(p.name) + '</h3></a>' +
      '<p class="card-blurb">' + esc(p.blurb) + '</p>' +
      '<p class="card-meta"><span class="price">' + money(p.price) + '</span> <span class="stars" title="' + p.rating + ' out of 5">' +
      stars(p.rating) + ' <small>(' + p.reviews + ')</small></span></p></article>';
  }
  window.TH_SHOP = { cardHTML: cardHTML, track: track, money: money };

  function renderSummary(extraShipping) {
    var cart = getCart(), list = $('#summary-items');
    if (!list) return;
    list.innerHTML = cart.length ? cart.map(function (l) {
      var p = C.byId(l.id);
      return '<li><span>' + esc(p.name) + ' <small>\u00d7 ' + l.qty + (l.size && l.size !== 'One size' ? ' \u00b7 ' + esc(l.size) : '') +
        '</small></span><span>' + money(p.price * l.qty) + '</span></li>';
    }).join('') : '<li class="muted">Your cart is empty.</li>';
    var sub = subtotal(cart);
    $('#summary-subtotal').textContent = money(sub);
    if (extraShipping != null && $('#summary-total')) {
      $('#summary-shipping').textContent = money(extraShipping);
      $('#summary-total').textContent = money(round(sub + extraShipping));
    }
  }

  var pages = {
    home: function () {
      var form = $('#newsletter-form');
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        // Never send the address itself anywhere; only the fact that someone subscribed.
        track('newsletter_signup', {});
        $('#newsletter-msg').textContent = 'Thanks! Check your inbox to confirm your subscription.';
        $('#newsletter-email').value = '';
      });
      // #promo-banner deliberately does nothing: it is the "dead click" demo element.
    },

    product: function () {
      var form = $('#product-form');
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var p = C.byId(form.getAttribute('data-id'));
        var size = $('#size').value, qty = clampQty($('#qty').value);
        $('#qty').value = qty;
        var cart = getCart(), line = null;
        for (var i = 0; i < cart.length; i++) if (cart[i].id === p.id && cart[i].size === size) line = cart[i];
        if (line) line.qty = Math.min(10, line.qty + qty); else cart.push({ id: p.id, size: size, qty: qty });
        setCart(cart);
        track('add_to_cart', { sku: String(p.id), price: p.price, qty: qty, value: round(p.price * qty), currency: 'USD' });
        var msg = $('#added-msg');
        msg.innerHTML = '\u2713 Added ' + qty + ' \u00d7 ' + esc(p.name) + ' to your cart. <a href="/cart.html" id="view-cart">View cart</a>';
        msg.classList.add('ok');
      });
    },

    search: function () {
      var q = (new URLSearchParams(location.search).get('q') || '').trim();
      var input = $('#search-input');
      if (input) input.value = q;
      var summary = $('#search-summary'), results = $('#search-results');
      if (!q) { $('#search-suggest').hidden = false; return; }
      var words = q.toLowerCase().split(/\s+/).map(function (w) { return w.length > 3 ? w.replace(/e?s$/, '') : w; });
      var hits = C.products.filter(function (p) {
        var hay = (p.name + ' ' + p.category + ' ' + p.blurb + ' ' + p.tags + ' ' + p.features.join(' ')).toLowerCase();
        return words.every(function (w) { return hay.indexOf(w) !== -1; });
      });
      summary.textContent = hits.length
        ? hits.length + (hits.length === 1 ? ' result' : ' results') + ' for \u201c' + q + '\u201d'
        : 'No products match \u201c' + q + '\u201d. Try one of these instead:';
      results.innerHTML = hits.map(cardHTML).join('');
      $('#search-suggest').hidden = hits.length > 0;
      track('search', { q: q, results: hits.length });
    },

    cart: function () {
      var box = $('#cart-items'), btn = $('#checkout');
      function render() {
        var cart = getCart();
        if (!cart.length) {
          box.innerHTML = '<div class="card panel empty" id="cart-empty"><h2>Your cart is empty</h2>' +
            '<p>Find something for your next adventure.</p><p><a class="btn btn-primary" href="/">Start shopping</a></p></div>';
        } else {
          box.innerHTML = cart.map(function (l, i) {
            var p = C.byId(l.id);
            return '<div class="card cart-row" data-index="' + i + '" data-sku="' + p.id + '">' +
              '<a class="thumb" href="/product/' + p.id + '.html">' + C.art(p) + '</a>' +
              '<div class="cart-info"><a href="/product/' + p.id + '.html"><strong>' + esc(p.name) + '</strong></a>' +
              '<span class="muted small">' + esc(l.size) + ' \u00b7 ' + money(p.price) + ' each</span></div>' +
              '<label class="sr-only" for="cart-qty-' + i + '">Quantity</label>' +
              '<input class="cart-qty" id="cart-qty-' + i + '" type="number" min="1" max="10" value="' + l.qty + '" data-index="' + i + '">' +
              '<strong class="line-total">' + money(p.price * l.qty) + '</strong>' +
              '<button class="linkish remove-item" type="button" data-index="' + i + '" aria-label="Remove ' + esc(p.name) + '">Remove</button></div>';
          }).join('');
        }
        $('#cart-subtotal').textContent = money(subtotal(cart));
        btn.disabled = !cart.length;
      }
      box.addEventListener('change', function (e) {
        if (!e.target.classList.contains('cart-qty')) return;
        var cart = getCart(), i = +e.target.getAttribute('data-index');
        if (cart[i]) { cart[i].qty = clampQty(e.target.value); setCart(cart); render(); }
      });
      box.addEventListener('click', function (e) {
        if (!e.target.classList.contains('remove-item')) return;
        var cart = getCart(), i = +e.target.getAttribute('data-index');
        var line = cart.splice(i, 1)[0];
        setCart(cart); render();
        if (line) track('remove_from_cart', { sku: String(line.id) });
      });
      btn.addEventListener('click', function () {
        var cart = getCart();
        if (!cart.length) return;
        track('begin_checkout', { value: subtotal(cart), items: itemCount(cart), currency: 'USD' });
        location.href = '/checkout/address.html';
      });
      render();
    },

    'checkout-address': function () {
      renderSummary(null);
      var form = $('#address-form'), saved = load(sessionStorage, ADDR_KEY, {});
      if (saved.name) $('#name').value = saved.name;
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        // Only the first name is kept (for the thank-you greeting); nothing is sent to the tracker.
        save(sessionStorage, ADDR_KEY, { name: $('#name').value.trim().split(/\s+/)[0] });
        location.href = '/checkout/shipping.html';
      });
    },

    'checkout-shipping': function () {
      var form = $('#shipping-form'), current = shipping().key;
      var radio = $('#ship-' + current);
      if (radio) radio.checked = true;
      function update() {
        var r = form.querySelector('input[name=shipping]:checked');
        renderSummary(parseFloat(r.getAttribute('data-cost')));
      }
      form.addEventListener('change', update);
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var r = form.querySelector('input[name=shipping]:checked');
        save(sessionStorage, SHIP_KEY, r.value);
        track('shipping_selected', { method: r.value, cost: SHIPPING[r.value].cost });
        location.href = '/checkout/payment.html';
      });
      update();
    },

    'checkout-payment': function () {
      var s = shipping();
      $('#summary-method').textContent = '(' + s.label + ')';
      renderSummary(s.cost);
      var total = round(subtotal(getCart()) + s.cost);
      $('#pay').textContent = 'Pay ' + money(total);
      $('#payment-form').addEventListener('submit', function (e) {
        e.preventDefault();
        var cart = getCart(), sh = shipping();
        var order = {
          number: 'TH-' + (Date.now() % 1000000 + 100000),
          items: cart, subtotal: subtotal(cart), shipping: sh.cost, method: sh.key,
          total: round(subtotal(cart) + sh.cost), tracked: false,
          name: load(sessionStorage, ADDR_KEY, {}).name || ''
        };
        save(sessionStorage, ORDER_KEY, order);
        setCart([]);
        location.href = '/thank-you.html';
      });
    },

    'thank-you': function () {
      var order = load(sessionStorage, ORDER_KEY, null);
      if (!order) {
        $('#order-lead').textContent = 'We couldn\u2019t find a recent order in this browser. If you just paid, check your inbox for the receipt.';
        $('#order-total').parentNode.hidden = true;
        return;
      }
      if (order.name) document.querySelector('#confirmation h1').textContent = 'Thank you, ' + order.name + '!';
      $('#order-number').textContent = order.number;
      $('#order-total').textContent = money(order.total);
      $('#order-items').innerHTML = order.items.map(function (l) {
        var p = C.byId(l.id);
        return p ? '<li><span>' + esc(p.name) + ' <small>\u00d7 ' + l.qty + '</small></span><span>' + money(p.price * l.qty) + '</span></li>' : '';
      }).join('') + '<li><span>Shipping <small>' + esc((SHIPPING[order.method] || {}).label || '') + '</small></span><span>' + money(order.shipping) + '</span></li>';
      if (!order.tracked) { // fire once per order, not on every reload
        track('purchase', { revenue: order.total, currency: 'USD', items: itemCount(order.items), shipping: order.shipping });
        order.tracked = true;
        save(sessionStorage, ORDER_KEY, order);
      }
    },

    contact: function () {
      $('#contact-form').addEventListener('submit', function (e) {
        e.preventDefault();
        track('contact_submitted', {});
        e.target.reset();
        $('#contact-msg').textContent = 'Thanks, your message is on its way. We usually reply within one business day.';
      });
    }
  };

  function init() {
    updateCount();
    // Grids marked data-products="101,102" are filled from the catalog (keeps the HTML small).
    var grids = document.querySelectorAll('[data-products]');
    for (var i = 0; i < grids.length; i++) {
      grids[i].innerHTML = grids[i].getAttribute('data-products').split(',').map(function (id) { return cardHTML(C.byId(id)); }).join('');
    }
    var fn = pages[document.body.getAttribute('data-page')];
    if (fn) fn();
  }
  window.addEventListener('storage', updateCount); // keep other tabs' counts in sync
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
