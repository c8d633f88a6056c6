// trailmap browser tracker (t.js).
//
//   <script defer src="https://COLLECTOR/t.js" data-site="shop"></script>
//
// Sends page views, clicks, scroll depth, page leaves and custom events to
// {collector}/api/collect in the wire format of the server's README. No
// cookies, no localStorage, no input values, no keystrokes. Budget: 2 KiB
// minified and gzipped (test/build.test.mjs checks it), so the code below is
// written to compress well: few helpers, each used many times.
(function (window, document) {
  var script = document.currentScript;
  // The tag's data-site, data-api and data-respect-dnt.
  var data = script && script.dataset;
  // Elements whose text is never read: what they hold is typed by the
  // visitor, or is in an ignored area ([data-trailmap-ignore], where clicks
  // are dropped). sessionStorage keys: trailmap_sid, trailmap_unsent.
  var PRIVATE = 'input,textarea,select,[contenteditable],[data-trailmap-ignore]';
  var now = Date.now;
  var root = document.documentElement;
  var site = data && data.site;

  if (!site || (data.respectDnt != null && (navigator.globalPrivacyControl || navigator.doNotTrack == 1))) {
    return;
  }

  // fetch and sendBeacon take a URL object as well as a string.
  var endpoint = data.api || new URL('/api/collect', script.src);

  var queue = []; // events not yet cut into batches
  var outbox = []; // batches (arrays of events) not yet accepted by the server
  var held = []; // clicks waiting ~1 s for the dead-click check
  var busy; // a fetch is in flight, or its retry is scheduled
  var backoff = 0; // the last retry delay in ms; 0 while the server accepts
  var page; // URL of the current page view
  var maxDepth; // deepest point seen on this page view, px from the top
  var engaged; // ms this page view was visible and focused, until `since`
  var since; // when the current visible+focused stretch began, or false
  var shown; // a leave event is due for this page view
  var changed = 0; // last DOM mutation, scroll or URL change (dead clicks)
  var scrollTimer;
  var observer = new MutationObserver(function () {
    changed = now();
  });

  // JSON in sessionStorage: returns the stored value, then stores `value`
  // when one is given. Storage can be off (privacy modes, sandboxed frames):
  // then nothing survives the page.
  var store = function (key, value) {
    try {
      var old = JSON.parse(sessionStorage[key] || 0);
      if (value) sessionStorage[key] = JSON.stringify(value);
      return old;
    } catch (e) {}
  };

  // The tab's session id: about 11 random characters of a-z 0-9, then the
  // time in base 36. Only (sid, visitor hash) needs to be unique, so
  // Math.random is plenty.
  var sid;
  store('trailmap_sid', (sid = store('trailmap_sid') || Math.random().toString(36).slice(2) + now().toString(36)));

  var on = function (target, type, listener, capture) {
    target.addEventListener(type, listener, capture);
  };

  var push = (event) => queue.push(event) > 24 && flush();

  // A new event of the current page view, queued unless `hold`.
  var make = function (type, fields, hold) {
    fields.type = type;
    fields.ts = now();
    fields.url = page;
    hold || push(fields);
    return fields;
  };

  // Depth of the viewport's bottom edge, px from the document's top.
  var depth = function () {
    var d = scrollY + innerHeight;
    maxDepth = Math.max(maxDepth, d);
    return d;
  };

  // Adds the time since the last call to `engaged` if the page was visible
  // and focused, and notes whether it is now.
  var tick = function () {
    var t = now();
    engaged += since && t - since;
    since = !document.hidden && document.hasFocus() && t;
  };

  var pageview = function (referrer) {
    var status = +(document.querySelector('[name=trailmap-status]') || 0).content;
    var event;
    page = location.href;
    maxDepth = 0;
    shown = 1;
    tick();
    engaged = 0;
    event = make('pageview', {
      referrer: referrer,
      title: document.title,
      vw: innerWidth,
      vh: innerHeight,
      dw: root.scrollWidth,
      dh: root.scrollHeight,
      status: status > 99 && status < 600 ? status : undefined,
    });
    depth();
    // An SPA sets the new title and content after pushState: read them
    // again shortly (this event is usually still queued then; after a quick
    // redirect both page views get the final title, the first one had none).
    setTimeout(function () {
      event.title = document.title;
      event.dh = root.scrollHeight;
    }, 300);
  };

  var leave = function () {
    tick();
    depth();
    shown = 0;
    // The server caps engaged_ms at a day.
    make('leave', { engaged_ms: engaged, max_depth: maxDepth });
  };

  // After any history change: a new URL is a new page view.
  var route = function () {
    if (location.href != page) {
      changed = now();
      if (shown) leave();
      pageview(page);
    }
  };

  // Queues held clicks once their second has passed (or all of them, when
  // the page goes away: those are not dead). A click that looked interactive
  // is dead when nothing happened since: no mutation, scroll or URL change.
  var settle = function (all) {
    held = held.filter(function (click) {
      if (!all && now() - click.ts < 1e3) return 1;
      (!all && click.ts > changed) || (click.dead = false);
      push(click);
    });
    if (!held[0]) observer.disconnect();
  };

  // Ids and classes made of letters, - and _ only: digits suggest generated
  // names (css-1x2y3z, ember42) that change between builds or pages.
  var meaningful = function (name) {
    return /^[a-z][a-z_-]*$/i.test(name);
  };

  // A short selector: the shortest chain of up to 5 elements (stopping at
  // body) that matches only the target. Each element is its meaningful #id,
  // else its tag and up to 2 meaningful classes, plus :nth-of-type when that
  // is not unique yet and it has siblings of the same tag.
  var selector = function (el) {
    for (var path = '', i = 0, part, same; el && i++ < 5; el = el != document.body && el.parentElement) {
      part = meaningful(el.id)
        ? '#' + el.id
        : [el.localName, ...[...el.classList].filter(meaningful).slice(0, 2)].join('.');
      if (!document.querySelectorAll(part + path)[1]) return part + path;
      same = [...el.parentNode.children].filter(function (sibling) {
        return sibling.localName == el.localName;
      });
      path = '>' + part + (same[1] ? ':nth-of-type(' + (same.indexOf(el) + 1) + ')' : '') + path;
    }
    return path.slice(1);
  };

  var body = function (batch) {
    return JSON.stringify({ site: site, sid: sid, now: now(), events: batch });
  };

  // Cuts the queue into batches of at most 20,000 characters (under 64 KiB
  // even as 3-byte UTF-8; the queue never holds more than 25 events, well
  // under the server's 200), then sends. With `beacon` (the page is hidden
  // or going away) and the server healthy, every waiting batch goes by
  // sendBeacon; those it refuses stay for fetch or for the next page.
  var flush = function (beacon) {
    for (var batch, size; queue[0]; outbox.push(batch)) {
      for (
        batch = [], size = 0;
        (queue[0] && (size += JSON.stringify(queue[0]).length) < 2e4) || !batch[0];

      ) {
        batch.push(queue.shift());
      }
    }
    if (beacon && !backoff) {
      outbox = outbox.filter(function (batch) {
        return !navigator.sendBeacon(endpoint, body(batch));
      });
    }
    send();
  };

  // Sends the first waiting batch by fetch, one batch at a time. 2xx and 4xx
  // are final; a network error or 5xx puts the batch back and retries after
  // 2, 4, 8 ... 60 s, and at least Retry-After.
  var send = function () {
    var batch = !busy && outbox.shift();
    if (batch) {
      busy = 1;
      fetch(endpoint, { method: 'POST', body: body(batch), keepalive: true })
        .then(
          function (response) {
            return response.status > 499 && (response.headers.get('retry-after') * 1e3 || 1);
          },
          function () {
            return 1;
          },
        )
        .then(function (wait) {
          if (wait) {
            outbox.unshift(batch);
            backoff = Math.min(backoff * 2 || 2e3, 6e4);
          } else backoff = 0;
          setTimeout(
            function () {
              busy = 0;
              send();
            },
            wait && Math.max(backoff, wait),
          );
        });
    }
  };

  // Takes over the batches an earlier page of this tab could not send.
  var load = function () {
    outbox.push(...(store('trailmap_unsent', []) || []));
    send();
  };

  // The page is hidden or going away: release held clicks, end the page
  // view, send everything.
  var hide = function () {
    settle(1);
    if (shown) leave();
    flush(1);
  };

  // window.trailmap(name, props): a custom event. Props keep 20 keys; values
  // other than numbers, booleans and null become strings.
  var custom = function (name, props) {
    var clean = {};
    var count = 0;
    if ((name = name && ('' + name).trim())) {
      for (var key in props) {
        var value = props[key];
        if (count++ < 20) {
          clean[key] = value == null || value === !!value || value === +value ? value : String(value);
        }
      }
      make('custom', { name: name, props: clean });
    }
  };

  var stub = window.trailmap;
  window.trailmap = custom;

  load();
  pageview(document.referrer);
  // Calls made before this script ran, by the stub in the page:
  // window.trailmap=window.trailmap||function(){(trailmap.q=trailmap.q||[]).push(arguments)}
  stub && stub.q && stub.q.map((args) => custom(...args));
  // data-errors, data-replay: the optional error capture and session-replay
  // recorder, /t/errors.js and /t/replay.js from t.js's origin.
  ['errors', 'replay'].map(
    (name) =>
      name in data && (root.appendChild(document.createElement('script')).src = new URL('/t/' + name + '.js', script.src)),
  );

  ['pushState', 'replaceState'].map((name) => {
    var original = history[name];
    history[name] = function (...args) {
      original.apply(this, args);
      route();
    };
  });
  on(window, 'popstate', route);
  on(window, 'hashchange', route);

  on(
    document,
    'click',
    function (e) {
      var target = e.target;
      var link;
      var click;
      var fixed = target;
      if (!target.closest || target.closest('[data-trailmap-ignore]')) return;
      link = target.closest('a[href]');
      // Inside a fixed or sticky element (a sticky header): the click is
      // where it is on screen, so it is placed in viewport coordinates (at
      // the top of the page), not at the scrolled position.
      // (f: fixed, k: sticky and -webkit-sticky; no other value has either.)
      while (fixed && !/[fk]/.test(getComputedStyle(fixed).position)) fixed = fixed.parentElement;
      click = make(
        'click',
        {
          x: fixed ? e.clientX : e.pageX,
          y: fixed ? e.clientY : e.pageY,
          dw: root.scrollWidth,
          sel: selector(target),
          // From the target's padding box (a border, if any, is outside).
          ox: e.offsetX,
          oy: e.offsetY,
          // (An SVG link's href is an object: it is sent as a string.)
          href: link && '' + link.href, // null: none
          text:
            target.closest(PRIVATE) || target.querySelector(PRIVATE)
              ? undefined
              : (target.innerText || '').trim().slice(0, 100),
          // Looks interactive; cleared by settle() when something happens.
          dead: !!(
            getComputedStyle(target).cursor == 'pointer' ||
            target.closest('a,button,[type=submit],[type=button],[role=button],[onclick]')
          ),
        },
        1,
      );
      // Rage: the 3rd click or more within 1 s and 30 px. The clicks of the
      // last second are the held ones.
      click.rage = !!held.filter(function (other) {
        return click.ts - other.ts < 1e3 && Math.hypot(other.x - click.x, other.y - click.y) <= 30;
      })[1];
      held.push(click);
      observer.observe(document, { subtree: 1, childList: 1, attributes: 1, characterData: 1 });
      setTimeout(settle, 1e3);
    },
    true,
  );

  on(window, 'scroll', function () {
    changed = now();
    depth();
    scrollTimer =
      scrollTimer ||
      setTimeout(function () {
        scrollTimer = 0;
        make('scroll', { depth: depth(), max_depth: maxDepth, dh: root.scrollHeight });
      }, 1e3);
  });

  on(window, 'focus', tick);
  on(window, 'blur', tick);
  on(document, 'visibilitychange', function () {
    tick();
    if (document.hidden) hide();
    else shown = 1;
  });
  on(window, 'pagehide', function () {
    hide();
    // What is still unsent now belongs to the next page of this tab.
    store('trailmap_unsent', outbox);
    outbox = [];
  });
  on(window, 'pageshow', function (e) {
    // Back from the bfcache: a new page view of the same page.
    if (e.persisted) {
      load();
      pageview();
    }
  });

  setInterval(flush, 5e3);
})(window, document);
