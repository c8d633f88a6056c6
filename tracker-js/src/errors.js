// trailmap error capture (errors.js), loaded by t.js from /t/errors.js when
// its tag has data-errors:
//
//   <script defer src="https://COLLECTOR/t.js" data-site="shop" data-errors></script>
//
// Uncaught errors and unhandled promise rejections of the page, each sent
// once per page view through t.js as a `$error` event: its kind, message,
// source file and line and column, and whether a click came less than 1 s
// before it (an "error click"). No stack text and no values from the
// page's data: only the location of the top frame of a rejection's stack.
// Budget: 1 KiB minified and gzipped (test/build.test.mjs).
(function (window) {
  var track = window.trailmap;
  var page; // the URL of the page view whose errors `seen` holds
  var seen; // the errors already sent for that page view
  var sent; // how many of them
  var clicked = 0; // when the last click happened

  // Sends an error unless this page view has sent it already, or has sent
  // 20 errors already (a loop that throws must not flood the collector).
  var report = function (kind, message, source, line, col) {
    var key = [kind, message, source, line, col].join();
    if (location.href != page) {
      page = location.href;
      seen = {};
      sent = 0;
    }
    if (!seen[key] && sent++ < 20) {
      seen[key] = 1;
      track('$error', {
        kind: kind,
        // Chrome and Firefox say "Uncaught TypeError: ...", Safari
        // "TypeError: ...": one error, whichever browser saw it.
        message: ('' + message).replace(/^Uncaught /, '').slice(0, 300),
        source: source,
        line: line,
        col: col,
        click: Date.now() - clicked < 1e3,
      });
    }
  };

  if (!track) return;

  // An uncaught exception (script errors only: a failed image or script
  // load fires `error` on its element, and it does not bubble to window).
  window.addEventListener('error', function (e) {
    report('error', e.message, e.filename, e.lineno, e.colno);
  });

  // A promise rejected with no handler: the reason's message (or the
  // reason itself), and where its stack's first frame is, when it has one.
  window.addEventListener('unhandledrejection', function (e) {
    var reason = e.reason;
    var at = /(https?:\/\/[^\s()]+):(\d+):(\d+)/.exec((reason && reason.stack) || '') || [];
    report('rejection', (reason && reason.message) || reason, at[1], +at[2] || undefined, +at[3] || undefined);
  });

  document.addEventListener(
    'click',
    function () {
      clicked = Date.now();
    },
    true,
  );
})(window);
