// trailmap session-replay recorder (replay.js): page layouts.
//
//   <script defer src="https://COLLECTOR/t.js" data-site="shop" data-replay></script>
//
// t.js loads this file (COLLECTOR/t/replay.js) when its tag has data-replay.
// It reads the collector and the site from that same tag. After the load
// event, when the browser is idle, it takes a masked snapshot of the page's
// DOM (a clone: the live page is never touched), hashes it (SHA-256), asks
// the collector whether it has that layout already and uploads it gzipped if
// not, and records it in the session with trailmap('$layout', {hash, vw, vh,
// dw, dh}). Again on every URL change and after more than 50 elements were
// added or removed, once the DOM has been quiet for a second (at most 5 s
// later). At most one snapshot in flight and 20 per page load. Failures are
// silent. Budget: 2.5 KiB minified and gzipped (test/build.test.mjs).
(function (window, document) {
  var tag = document.querySelector('script[data-replay][data-site]');
  var subtle = window.crypto && crypto.subtle; // secure contexts only
  var root = document.documentElement;
  var now = Date.now;
  var last; // URL of the last snapshot
  var changed = 0; // elements added or removed since the last snapshot
  var quiet = 0; // time of the last added or removed element
  var waited = 0; // checks a due snapshot waited for the DOM to be quiet
  var taken = 0; // snapshots this page load
  var busy = 0; // 1: a snapshot is scheduled; 2: one is being taken or sent
  // Subtrees whose text is replaced by stars: marked by the site, or
  // editable (the visitor's own text).
  var MASK = '[data-trailmap-mask],[data-trailmap-ignore],[contenteditable]';

  // -- strings: test/replay.test.mjs evaluates this part on its own --
  // Same-length stars for every character but white space (layout kept).
  var stars = function (text) {
    return text.replace(/\S/g, '*');
  };
  // Emails, and runs of 6 or more digits (single spaces or dashes allowed
  // between them: card, phone, account and order numbers) become stars.
  var scrub = function (text) {
    return text.replace(/[\w.%+-]+@[\w-]+(\.[\w-]+)+|\d([ -]?\d){5,}/g, stars);
  };
  // Attributes whose values are scrubbed (href on links only: elsewhere it
  // is an asset, and a broken asset URL would spoil the replay).
  var SCRUBBED = /^(title|alt|value|placeholder|label|content|aria-|data-)/;
  // -- end strings --

  var all = function (node, selector) {
    return [...node.querySelectorAll(selector)];
  };

  // The masked snapshot: '<!DOCTYPE html>' and the outerHTML of a clone.
  var snapshot = function () {
    var clone = root.cloneNode(true);
    var base = document.createElement('base');
    var MEDIA = 'style,video,audio,iframe,object,embed';
    var live = all(root, MEDIA);
    var walker = document.createTreeWalker(clone, 4); // NodeFilter.SHOW_TEXT
    var node;
    // Pairs of live and cloned elements, found before anything is removed.
    all(clone, MEDIA).forEach(function (el, i) {
      var from = live[i];
      if (el.localName == 'style') {
        // Built through the CSSOM (CSS-in-JS): the rules are not in the text.
        try {
          if (!el.textContent.trim()) {
            el.textContent = [...from.sheet.cssRules].map((rule) => rule.cssText).join('');
          }
        } catch (e) {}
      } else {
        // Media and frames keep their box, not their content.
        el.setAttribute('width', from.offsetWidth);
        el.setAttribute('height', from.offsetHeight);
        ['src', 'srcdoc', 'data'].map((name) => el.removeAttribute(name));
        el.textContent = '';
      }
    });
    all(clone, 'script,noscript,base,meta[http-equiv],link[as=script],link[rel=modulepreload]').map((el) =>
      el.remove(),
    );
    all(clone, 'textarea').map((el) => (el.textContent = ''));
    all(clone, '*').map(function (el) {
      var masked = el.closest(MASK);
      [...el.attributes].map(function (attribute) {
        var name = attribute.name;
        var value = attribute.value;
        if (
          /^on/i.test(name) ||
          /^\s*javascript:/i.test(value) ||
          (name == 'value' && el.localName == 'input' && !/^(submit|button|reset)$/.test(el.type))
        ) {
          el.removeAttribute(name);
        } else if (SCRUBBED.test(name) || (name == 'href' && el.localName == 'a')) {
          attribute.value = masked ? stars(value) : scrub(value);
        }
      });
    });
    while ((node = walker.nextNode())) {
      if (node.parentNode.localName != 'style') {
        node.data = node.parentNode.closest(MASK) ? stars(node.data) : scrub(node.data);
      }
    }
    // Relative asset URLs resolve to the shop (the query string and the hash
    // do not matter for that, and may hold personal data).
    base.href = document.baseURI.replace(/[?#].*/, '');
    (clone.querySelector('head') || clone).prepend(base);
    return (document.compatMode == 'BackCompat' ? '' : '<!DOCTYPE html>') + clone.outerHTML;
  };

  // performance.measure('trailmap:NAME') from `start` to now.
  var measure = function (name, start) {
    performance.measure('trailmap:' + name, { start: start });
  };

  var run = function () {
    if (busy == 1) {
      busy = 2;
      record();
    }
  };

  var record = async function () {
    var start = performance.now();
    var url = (last = location.href);
    var at = Date.now();
    var path = location.pathname.slice(0, 256);
    var size = { vw: innerWidth, vh: innerHeight, dw: root.scrollWidth, dh: root.scrollHeight };
    var bytes;
    var hash;
    var target;
    // keepalive (bodies under 64 KiB): an upload outlives a navigation.
    var post = function (body) {
      return fetch(target, { method: 'POST', mode: 'cors', credentials: 'omit', body: body, keepalive: !body || body.size < 6e4 });
    };
    changed = waited = 0;
    taken++;
    try {
      bytes = new TextEncoder().encode(snapshot());
      measure('capture', start);
      start = performance.now();
      hash = [...new Uint8Array(await subtle.digest('SHA-256', bytes))]
        .map((byte) => (byte + 256).toString(16).slice(1))
        .join('');
      measure('hash', start);
      // The session's reference. The page may have moved on (an SPA step
      // clicked at once): the capture's time and path say which page view
      // the layout belongs to.
      trailmap('$layout', { hash: hash, at: at, path: path, ...size });
      target =
        new URL('/api/replay/snapshots/' + hash, tag.src) + '?' + new URLSearchParams({ site: tag.dataset.site, url: url, ...size });
      // 204: the collector has it; 200: it wants the body.
      if ((await post()).status == 200 && bytes.length <= 16 << 20) {
        start = performance.now();
        bytes = await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'))).blob();
        measure('gzip', start);
        // A Blob without a type: no Content-Type, so no CORS preflight.
        if (bytes.size <= 2 << 20) await post(bytes);
      }
    } catch (e) {}
    busy = 0;
  };

  if (tag && subtle && window.CompressionStream && window.trailmap) {
    new MutationObserver(function (records) {
      records.map(function (mutation) {
        [...mutation.addedNodes, ...mutation.removedNodes].map(function (node) {
          if (node.querySelectorAll) {
            changed += 1 + node.getElementsByTagName('*').length;
            quiet = now();
          }
        });
      });
    }).observe(document, { childList: 1, subtree: 1 });
    // Back from the bfcache: a new page view (t.js), the same layout.
    addEventListener('pageshow', function (e) {
      if (e.persisted) last = 0;
    });
    setInterval(function () {
      if (
        !busy &&
        taken < 20 &&
        document.readyState == 'complete' &&
        (location.href != last || changed > 50) &&
        (now() - quiet > 999 || ++waited > 9)
      ) {
        busy = 1;
        (window.requestIdleCallback || setTimeout)(run, { timeout: 2e3 });
      }
    }, 500);
    // A click on a view not recorded yet (an SPA step clicked within a
    // second of showing): record it now, in the capture phase, before the
    // page's own handlers change it, so the click lands on its layout.
    addEventListener(
      'click',
      function () {
        if (busy < 2 && taken < 20 && location.href != last) {
          busy = 1;
          run();
        }
      },
      true
    );
  }
})(window, document);
