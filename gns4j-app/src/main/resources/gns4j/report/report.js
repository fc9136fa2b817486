// Report interactivity with no library: run toggles and hover read-outs. The charts are complete SVG without it.
// Script errors are written into #errors so that a reader, and the browser test, can see them.
(function () {
  'use strict';
  var errors = document.getElementById('errors');
  function fail(message) {
    var li = document.createElement('li');
    li.textContent = message;
    errors.appendChild(li);
    errors.hidden = false;
  }
  window.addEventListener('error', function (e) { fail('script error: ' + e.message); });
  window.addEventListener('unhandledrejection', function (e) { fail('unhandled rejection: ' + e.reason); });
  var consoleError = console.error;
  console.error = function () {
    fail('console.error: ' + Array.prototype.join.call(arguments, ' '));
    consoleError.apply(console, arguments);
  };

  var SVGNS = 'http://www.w3.org/2000/svg';
  var hidden = {}; // run index -> true while its checkbox is off

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function applyToggle(box) {
    var run = box.getAttribute('data-toggle');
    hidden[run] = !box.checked;
    document.querySelectorAll('[data-run="' + run + '"]').forEach(function (el) {
      el.classList.toggle('off', !box.checked);
    });
  }
  document.querySelectorAll('input[data-toggle]').forEach(function (box) {
    applyToggle(box);
    box.addEventListener('change', function () { applyToggle(box); });
  });

  var tip = document.getElementById('tip');
  function showTip(e, html) {
    tip.innerHTML = html;
    tip.hidden = false;
    var x = e.clientX + 14, y = e.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth) x = e.clientX - tip.offsetWidth - 14;
    if (y + tip.offsetHeight > window.innerHeight) y = e.clientY - tip.offsetHeight - 14;
    tip.style.left = Math.max(0, x) + 'px';
    tip.style.top = Math.max(0, y) + 'px';
  }

  // Index of the pixel x closest to x; a linear scan, since lines hold at most 1500 points and a resumed or
  // time-axis line need not be sorted.
  function nearest(px, x) {
    var best = -1, bestD = Infinity;
    for (var i = 0; i < px.length; i++) {
      var d = Math.abs(px[i] - x);
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }

  var charts = [];
  document.querySelectorAll('svg[data-chart]').forEach(function (svg) {
    var json = svg.nextElementSibling;
    if (!json || !json.classList.contains('tips')) return;
    charts.push({ svg: svg, data: JSON.parse(json.textContent),
                  hair: svg.querySelector('.hair'), dots: svg.querySelector('.dots') });
  });
  var active = null;
  function clear() {
    if (active) {
      active.hair.style.visibility = 'hidden';
      active.dots.textContent = '';
      active = null;
    }
    tip.hidden = true;
  }

  // Read-out of every visible line of a chart at the pointer's x position.
  function hoverChart(chart, e) {
    var m = chart.svg.getScreenCTM();
    if (!m) return false;
    var p = chart.svg.createSVGPoint();
    p.x = e.clientX;
    p.y = e.clientY;
    p = p.matrixTransform(m.inverse());
    var box = chart.data.box;
    if (p.x < box[0] - 4 || p.x > box[2] + 4 || p.y < box[1] || p.y > box[3]) return false;
    var rows = [], head = '', hx = 0, bestDx = Infinity;
    chart.dots.textContent = '';
    chart.data.s.forEach(function (s) {
      if (hidden[s.r]) return;
      var i = nearest(s.px, p.x);
      var dx = i < 0 ? Infinity : Math.abs(s.px[i] - p.x);
      if (dx > 14) return;
      if (dx < bestDx) { bestDx = dx; head = s.xs[i]; hx = s.px[i]; }
      rows.push('<div><i style="background:' + esc(s.c) + '"></i>' + esc(s.l) + ': <b>' + esc(s.ys[i]) + '</b></div>');
      var dot = document.createElementNS(SVGNS, 'circle');
      dot.setAttribute('cx', s.px[i]);
      dot.setAttribute('cy', s.py[i]);
      dot.setAttribute('r', 3.5);
      dot.setAttribute('fill', s.c);
      chart.dots.appendChild(dot);
    });
    if (!rows.length) return false;
    chart.hair.setAttribute('x1', hx);
    chart.hair.setAttribute('x2', hx);
    chart.hair.style.visibility = 'visible';
    showTip(e, '<div class="th">' + esc(chart.data.x) + ': ' + esc(head) + '</div>' + rows.join(''));
    return true;
  }

  document.addEventListener('mousemove', function (e) {
    var target = e.target instanceof Element ? e.target : null;
    var cell = target && target.closest('[data-tip]');
    var svg = target && target.closest('svg[data-chart]');
    var chart = null;
    charts.forEach(function (c) { if (c.svg === svg) chart = c; });
    if (active && active !== chart) clear();
    if (chart && hoverChart(chart, e)) { active = chart; return; }
    if (cell) showTip(e, esc(cell.getAttribute('data-tip')));
    else clear();
  });
  document.addEventListener('mouseleave', clear);

  // #selftest (opened so by the browser test): hover every chart and toggle every run; failures go to #errors.
  if (location.hash === '#selftest') {
    var probed = 0;
    document.querySelectorAll('svg[data-chart]').forEach(function (svg) {
      var chart = charts.filter(function (c) { return c.svg === svg; })[0], target = svg, x, y;
      if (chart) { // the first point of the first line
        var p = svg.createSVGPoint();
        p.x = chart.data.s[0].px[0];
        p.y = chart.data.s[0].py[0];
        p = p.matrixTransform(svg.getScreenCTM());
        x = p.x;
        y = p.y;
      } else { // a heat map cell
        target = svg.querySelector('[data-tip]');
        var r = target.getBoundingClientRect();
        x = r.left + r.width / 2;
        y = r.top + r.height / 2;
      }
      target.dispatchEvent(new MouseEvent('mousemove', { clientX: x, clientY: y, bubbles: true }));
      if (tip.hidden || !tip.textContent) fail('selftest: no tooltip on chart ' + svg.getAttribute('data-chart'));
      else probed++;
      clear();
    });
    document.querySelectorAll('input[data-toggle]').forEach(function (box) {
      var run = box.getAttribute('data-toggle'), els = document.querySelectorAll('[data-run="' + run + '"]');
      box.click();
      var off = Array.prototype.filter.call(els, function (el) { return el.classList.contains('off'); }).length;
      box.click();
      if (off !== els.length || document.querySelector('[data-run="' + run + '"].off')) {
        fail('selftest: toggling run ' + run + ' hid ' + off + ' of ' + els.length + ' elements');
      }
    });
    document.body.setAttribute('data-selftest', String(probed));
  }

  document.body.setAttribute('data-js', 'ready');
})();
