// The scoring screen: conditional questions shown or hidden, and the live score from the
// server's one scoring function (POST the answers to the preview URL; nothing is saved).
(function () {
  "use strict";

  function answerValues(scope, key) {
    var values = [];
    scope.querySelectorAll('[name="q-' + key + '"]').forEach(function (input) {
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) return;
      if (input.value !== "") values.push(input.value);
    });
    return values;
  }

  // Read-only pages leave out unmet conditional questions on the server; this is for inputs.
  function applyConditions(scope) {
    scope.querySelectorAll("[data-condition-question]").forEach(function (wrap) {
      var wanted = wrap.dataset.conditionValues.split("|");
      var given = answerValues(scope, wrap.dataset.conditionQuestion);
      var shown = given.some(function (v) { return wanted.indexOf(v) !== -1; });
      wrap.classList.toggle("d-none", !shown);
      wrap.querySelectorAll("input, textarea, select").forEach(function (el) {
        el.disabled = !shown;
      });
    });
  }

  function showScore(data) {
    var total = document.getElementById("live-total");
    total.textContent = data.total === null ? "–" : data.total;
    var critical = document.getElementById("live-critical");
    critical.classList.toggle("d-none", !data.critical_fail);
    var reasons = document.getElementById("live-reasons");
    reasons.textContent = "words" in reasons.dataset && data.critical_text ? data.critical_text
      : data.critical_reasons.join("; ");
    var unanswered = document.getElementById("live-unanswered");
    if (unanswered) unanswered.textContent = data.unanswered.length + " question(s) unanswered";
    Object.keys(data.sections).forEach(function (key) {
      var badge = document.querySelector('[data-section-score="' + key + '"]');
      if (badge) badge.textContent = data.sections[key] === null ? "N/A" : data.sections[key];
    });
  }

  // Click (or Enter on) a transcript segment: the player jumps there and plays.
  var player = document.getElementById("player");
  document.querySelectorAll(".qm-segment[data-start]").forEach(function (segment) {
    function seek() {
      if (!player) return;
      player.currentTime = parseFloat(segment.dataset.start) || 0;
      player.play().catch(function () { /* autoplay refused: the position is set anyway */ });
    }
    segment.addEventListener("click", seek);
    segment.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); seek(); }
    });
  });

  var form = document.getElementById("evaluation-form");
  if (!form) return;
  applyConditions(form);

  // N/A on a multi select stands alone: ticking it clears the options, and the reverse.
  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type === "checkbox" && input.name.indexOf("q-") === 0) {
      form.querySelectorAll('[name="' + input.name + '"]').forEach(function (other) {
        if (other !== input && input.checked && (input.value === "n/a") !== (other.value === "n/a")) {
          other.checked = false;
        }
      });
    }
  });

  var timer = null;
  var pending = null;
  function refresh() {
    applyConditions(form);
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(form.dataset.previewUrl, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: {"Accept": "application/json"}, signal: pending.signal
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (result) {
      if (result.ok) showScore(result.data);
    }).catch(function () { /* the next change tries again; saving does not depend on it */ });
  }
  form.addEventListener("change", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 150);
  });

  // Keyboard: Ctrl+S (Cmd+S) saves a draft, Ctrl+Enter submits; radios move with the arrows.
  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey)) return;
    var button = null;
    if (event.key === "s" || event.key === "S") {
      button = form.querySelector('button[name="action"][value="draft"]');
    } else if (event.key === "Enter") {
      button = form.querySelector('button[name="action"][value="submit"]');
    }
    if (button) {
      event.preventDefault();
      button.click();
    }
  });

  // One submission at a time: a double click must not post twice.
  form.addEventListener("submit", function (event) {
    if (form.dataset.sending === "1") { event.preventDefault(); return; }
    form.dataset.sending = "1";
    // The page is leaving: a preview still waiting to start would only be cut off.
    window.clearTimeout(timer);
    window.setTimeout(function () { form.dataset.sending = ""; }, 5000);
  });
})();
