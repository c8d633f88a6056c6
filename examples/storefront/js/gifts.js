/* Gift finder: a tiny single-page app. Steps change with history.pushState
   (/gifts/ -> /gifts/who -> /gifts/budget -> /gifts/results), no page loads;
   the back button works through popstate. The demo server serves
   gifts/index.html for every path under /gifts/. */
(function () {
  'use strict';
  var C = window.TH_CATALOG, S = window.TH_SHOP;
  var STATE_KEY = 'th_gift';
  var TITLES = { start: 'Gift finder', who: 'Who is it for?', budget: 'What\u2019s your budget?', results: 'Gift ideas' };
  var PICKS = {
    'partner-low': [108, 109, 106], 'friend-low': [110, 106, 109],
    'partner-high': [101, 107, 105], 'friend-high': [102, 105, 103]
  };

  function choices() {
    try { return JSON.parse(sessionStorage.getItem(STATE_KEY)) || {}; } catch (e) { return {}; }
  }
  function remember(k, v) {
    var c = choices(); c[k] = v;
    try { sessionStorage.setItem(STATE_KEY, JSON.stringify(c)); } catch (e) { /* ignore */ }
    return c;
  }
  function stepFromPath(path) {
    var m = /^\/gifts\/(who|budget|results)\/?$/.exec(path);
    return m ? m[1] : 'start';
  }

  function render(step) {
    var sections = document.querySelectorAll('[data-step]');
    for (var i = 0; i < sections.length; i++) sections[i].hidden = sections[i].getAttribute('data-step') !== step;
    document.getElementById('gift-back').hidden = step === 'start';
    var order = ['who', 'budget', 'results'], at = order.indexOf(step);
    var lis = document.querySelectorAll('#gift-steps li');
    for (var j = 0; j < lis.length; j++) {
      lis[j].className = j < at ? 'done' : '';
      if (j === at) lis[j].setAttribute('aria-current', 'step'); else lis[j].removeAttribute('aria-current');
    }
    document.title = TITLES[step] + ' \u2014 Gift finder \u2014 Trailhead Outfitters';
    if (step === 'results') {
      var c = choices(), who = c.who || 'partner', budget = c.budget || 'low';
      var ids = PICKS[who + '-' + budget];
      document.getElementById('gift-results-title').textContent =
        'Gift ideas for ' + (who === 'partner' ? 'your partner' : 'a friend') + (budget === 'low' ? ' under $50' : ', $50 and up');
      document.getElementById('gift-results').innerHTML = ids.map(function (id) { return S.cardHTML(C.byId(id)); }).join('');
    }
    var h = document.querySelector('[data-step="' + step + '"] h1');
    if (h && document.activeElement && document.activeElement !== document.body) { h.setAttribute('tabindex', '-1'); h.focus(); }
  }

  function go(step) {
    var path = step === 'start' ? '/gifts/' : '/gifts/' + step;
    history.pushState({ step: step }, '', path);
    render(step);
  }

  function on(id, fn) { document.getElementById(id).addEventListener('click', fn); }
  on('gift-start', function () { go('who'); });
  on('who-partner', function () { remember('who', 'partner'); go('budget'); });
  on('who-friend', function () { remember('who', 'friend'); go('budget'); });
  on('budget-low', function () { remember('budget', 'low'); go('results'); S.track('gift_finder_results', choices()); });
  on('budget-high', function () { remember('budget', 'high'); go('results'); S.track('gift_finder_results', choices()); });
  on('gift-restart', function () { go('start'); });
  on('gift-back', function () { history.back(); });

  window.addEventListener('popstate', function () { render(stepFromPath(location.pathname)); });
  var first = stepFromPath(location.pathname);
  history.replaceState({ step: first }, '', location.href);
  render(first);
})();
