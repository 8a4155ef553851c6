// The transcript follows the recording: the line being said is marked (class qm-current and
// aria-current="true", so a screen reader says which line it is too) and kept in view inside
// the transcript's own box, never by scrolling the page. A reader who scrolls the transcript or
// points at it is left alone: the box follows again a few seconds after they stop.
// Loaded by scoring/_transcript.html, wherever a transcript sits beside the player (#player).
(function () {
  "use strict";

  var player = document.getElementById("player");
  var box = document.getElementById("transcript");
  if (!player || !box) return;
  var lines = Array.prototype.map.call(
    box.querySelectorAll(".qm-segment[data-start]"),
    function (el) {
      return {el: el, start: parseFloat(el.dataset.start) || 0,
              end: parseFloat(el.dataset.end)};
    });
  if (!lines.length) return;
  lines.sort(function (a, b) { return a.start - b.start; });
  lines.forEach(function (line, index) {  // a line without an end lasts until the next one
    if (isNaN(line.end)) line.end = index + 1 < lines.length ? lines[index + 1].start : Infinity;
  });

  var READER_PAUSE_MS = 4000;
  var current = null;
  var readerUntil = 0;  // no following before this time: the reader scrolled
  var pointing = false;  // the pointer is over the transcript
  var oursAt = -Infinity;  // when we last scrolled the box: its scroll event is not the reader's

  // The line said at `time`: of those that run then, the one that started last (in overtalk
  // both speakers run). null in a gap between lines.
  function lineAt(time) {
    var found = null;
    for (var i = 0; i < lines.length && lines[i].start <= time; i++) {
      if (time < lines[i].end) found = lines[i];
    }
    return found;
  }

  function reveal(el) {
    var top = el.offsetTop, bottom = top + el.offsetHeight;
    if (top >= box.scrollTop && bottom <= box.scrollTop + box.clientHeight) return;
    var target = Math.max(0, Math.round(top - box.clientHeight / 3));
    if (target === box.scrollTop) return;
    oursAt = Date.now();
    box.scrollTop = target;
  }

  function mark(line) {
    if (line === current) return;
    if (current) {
      current.el.classList.remove("qm-current");
      current.el.removeAttribute("aria-current");
    }
    current = line;
    if (!line) return;
    line.el.classList.add("qm-current");
    line.el.setAttribute("aria-current", "true");
    if (!pointing && Date.now() >= readerUntil) reveal(line.el);
  }

  function follow() {
    var line = lineAt(player.currentTime);
    // Playing through a gap, the line just said stays marked until the next starts; stopped
    // in a gap, nothing is being said, so nothing is marked.
    if (!line && !player.paused && current && player.currentTime >= current.start) return;
    mark(line);
  }

  ["timeupdate", "seeked", "play", "pause", "ended"].forEach(function (name) {
    player.addEventListener(name, follow);
  });

  function readerMoved() { readerUntil = Date.now() + READER_PAUSE_MS; }
  box.addEventListener("scroll", function () {
    if (Date.now() - oursAt > 250) readerMoved();
  }, {passive: true});
  box.addEventListener("wheel", readerMoved, {passive: true});
  box.addEventListener("touchmove", readerMoved, {passive: true});
  box.addEventListener("pointerenter", function () { pointing = true; });
  box.addEventListener("pointerleave", function () { pointing = false; readerMoved(); });
})();
