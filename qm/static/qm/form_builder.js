/* The scoring-form builder: a structured editor over the form builder page's JSON textarea.
 *
 * Progressive enhancement: without this script the textarea (#definition) is the editor and
 * the page still works. With it, the textarea is hidden behind a "Show JSON" toggle and every
 * change in the editor is written back to it at once, so what is posted is always the textarea.
 *
 * The JSON is edited in place: keys the editor does not know are kept, and a key the user did
 * not touch is written back as it was, so saving an unchanged form changes nothing (the server
 * compares definitions to decide whether a new draft is needed).
 *
 * Strict CSP: no inline script, no inline style; visibility is Bootstrap's d-none class.
 */
(function () {
  "use strict";

  var root = document.getElementById("builder");
  var textarea = document.getElementById("definition");
  var jsonField = document.getElementById("definition-field");
  var toggle = document.getElementById("toggle-json");
  var problem = document.getElementById("builder-problem");
  if (!root || !textarea || !jsonField || !toggle || !problem) {
    return;
  }

  var TYPES = JSON.parse(root.dataset.types);        // [[value, label], ...]
  var KINDS = JSON.parse(root.dataset.kinds);
  var CRITICALS = JSON.parse(root.dataset.criticals);
  var SELECT_TYPES = ["single", "multi"];

  var model = null;          // {sections: [...]}, the parsed JSON, edited in place
  var stash = new WeakMap(); // question -> {options, scale_min, scale_max} hidden by a type change
  var editing = false;       // true: the editor is shown; false: the textarea is

  // --- small DOM helpers -------------------------------------------------------------------

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (name) {
      var value = props[name];
      if (value === undefined || value === null || value === false) {
        return;
      }
      if (name === "class") {
        node.className = value;
      } else if (name === "text") {
        node.textContent = value;
      } else if (name === "value") {
        node.value = value;
      } else if (name === "checked") {
        node.checked = true;
      } else if (name.indexOf("data-") === 0) {
        node.setAttribute(name, value);
      } else {
        node.setAttribute(name, value === true ? "" : value);
      }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.append(child);
      }
    });
    return node;
  }

  function button(text, action, ids, extra) {
    return el("button", Object.assign({
      type: "button", class: "btn btn-sm btn-outline-secondary", text: text,
      "data-action": action, "data-s": ids.s, "data-q": ids.q, "data-o": ids.o
    }, extra || {}));
  }

  function labelled(id, label, control, colClass, help) {
    return el("div", {class: colClass || "col-md"}, [
      el("label", {class: "form-label small mb-0", for: id, text: label}),
      control,
      help ? el("div", {class: "form-text", text: help}) : null
    ]);
  }

  function input(id, field, ids, value, extra) {
    return el("input", Object.assign({
      id: id, class: "form-control form-control-sm", "data-field": field,
      "data-s": ids.s, "data-q": ids.q, "data-o": ids.o,
      value: value === undefined || value === null ? "" : String(value)
    }, extra || {}));
  }

  function select(id, field, ids, choices, current) {
    var node = el("select", {id: id, class: "form-select form-select-sm", "data-field": field,
                             "data-s": ids.s, "data-q": ids.q});
    var value = current === undefined || current === null ? "" : String(current);
    var known = choices.some(function (choice) { return choice[0] === value; });
    // A value the editor does not offer is shown as it is, not silently replaced.
    (known ? choices : choices.concat([[value, value + " (unknown)"]])).forEach(
      function (choice) {
        node.append(el("option", {value: choice[0], text: choice[1]}));
      });
    node.value = value;
    return node;
  }

  // --- the model -----------------------------------------------------------------------------

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  /** The textarea's JSON as a model, or a sentence saying why the editor cannot show it. */
  function parse() {
    var data;
    try {
      data = JSON.parse(textarea.value);
    } catch (exc) {
      return {error: "The JSON is not valid (" + exc.message + ")."};
    }
    if (!isObject(data)) {
      return {error: "The JSON must be one object: {\"sections\": [...]}."};
    }
    if (data.sections === undefined) {
      data.sections = [];
    }
    var ok = Array.isArray(data.sections) && data.sections.every(function (s) {
      if (!isObject(s) || (s.questions !== undefined && !Array.isArray(s.questions))) {
        return false;
      }
      return (s.questions || []).every(function (q) {
        return isObject(q) && (q.options === undefined || (Array.isArray(q.options) &&
          q.options.every(isObject))) && (q.condition === undefined || q.condition === null ||
          isObject(q.condition));
      });
    });
    if (!ok) {
      return {error: "The JSON does not have the shape the editor knows (sections with " +
                     "questions, questions with options)."};
    }
    data.sections.forEach(function (s) {
      if (s.questions === undefined) {
        s.questions = [];
      }
    });
    return {model: data};
  }

  function write() {
    textarea.value = JSON.stringify(model, null, 2);
  }

  function allQuestions() {
    var out = [];
    model.sections.forEach(function (s) {
      s.questions.forEach(function (q) {
        out.push(q);
      });
    });
    return out;
  }

  function uniqueKey(prefix, taken) {
    var n = taken.length + 1;
    while (taken.indexOf(prefix + n) !== -1) {
      n += 1;
    }
    return prefix + n;
  }

  function number(text) {
    var trimmed = text.trim();
    if (trimmed === "") {
      return undefined;
    }
    var value = Number(trimmed);
    return isFinite(value) ? value : trimmed; // not a number: the server says so
  }

  function list(text) {
    return text.split(",").map(function (v) { return v.trim(); })
      .filter(function (v) { return v !== ""; });
  }

  /** Set obj[key], or leave it out when the value is the default and it was out already. */
  function put(obj, key, value, fallback) {
    var isDefault = value === undefined || value === fallback ||
      (Array.isArray(value) && value.length === 0);
    if (isDefault && !(key in obj)) {
      return;
    }
    if (value === undefined) {
      delete obj[key];
    } else {
      obj[key] = value;
    }
  }

  function changeType(q, type) {
    var hidden = stash.get(q) || {};
    ["options", "scale_min", "scale_max"].forEach(function (key) {
      if (key in q) {
        hidden[key] = q[key];
        delete q[key];
      }
    });
    q.type = type;
    if (type === "scale") {
      q.scale_min = "scale_min" in hidden ? hidden.scale_min : 1;
      q.scale_max = "scale_max" in hidden ? hidden.scale_max : 5;
      delete hidden.scale_min;
      delete hidden.scale_max;
    }
    if (SELECT_TYPES.indexOf(type) !== -1) {
      q.options = hidden.options || [];
      delete hidden.options;
    }
    stash.set(q, hidden);
  }

  function target(node) {
    var s = model.sections[Number(node.dataset.s)];
    if (node.dataset.q === undefined) {
      return s;
    }
    var q = s.questions[Number(node.dataset.q)];
    return node.dataset.o === undefined ? q : q.options[Number(node.dataset.o)];
  }

  // Field name -> how a control's value goes into the model. Returns true when the page must
  // be drawn again (a select that shows or hides other controls).
  var SETTERS = {
    key: function (obj, node) {
      if (node.dataset.q !== undefined) {
        // Conditions follow a question's key as it is renamed.
        allQuestions().forEach(function (other) {
          if (isObject(other.condition) && other.condition.question === obj.key) {
            other.condition.question = node.value;
          }
        });
      }
      obj.key = node.value;
    },
    title: function (obj, node) { obj.title = node.value; },
    weight: function (obj, node) { put(obj, "weight", number(node.value)); },
    text: function (obj, node) { obj.text = node.value; },
    type: function (obj, node) { changeType(obj, node.value); return true; },
    points: function (obj, node) { put(obj, "points", number(node.value)); },
    kind: function (obj, node) { put(obj, "kind", node.value, "normal"); return true; },
    allow_na: function (obj, node) { put(obj, "allow_na", node.checked, false); },
    critical: function (obj, node) {
      put(obj, "critical", node.value === "" ? null : node.value, null);
    },
    scale_min: function (obj, node) { put(obj, "scale_min", number(node.value)); },
    scale_max: function (obj, node) { put(obj, "scale_max", number(node.value)); },
    help: function (obj, node) { put(obj, "help", node.value, ""); },
    competencies: function (obj, node) { put(obj, "competencies", list(node.value)); },
    cond_question: function (obj, node) {
      if (node.value === "") {
        delete obj.condition;
      } else if (isObject(obj.condition)) {
        obj.condition.question = node.value;
      } else {
        obj.condition = {question: node.value, values: []};
      }
      return true;
    },
    cond_values: function (obj, node) {
      if (isObject(obj.condition)) {
        obj.condition.values = list(node.value);
      }
    },
    opt_value: function (obj, node) { obj.value = node.value; },
    opt_label: function (obj, node) { obj.label = node.value; },
    opt_points: function (obj, node) { put(obj, "points", number(node.value)); },
    opt_fails: function (obj, node) { put(obj, "fails", node.checked, false); }
  };

  function edited(event) {
    var node = event.target;
    var setter = SETTERS[node.dataset.field];
    if (!setter || !model) {
      return;
    }
    // A select changes once, at "change"; text changes at every keystroke, at "input".
    var isSelect = node.tagName === "SELECT";
    if (isSelect !== (event.type === "change")) {
      return;
    }
    var redraw = setter(target(node), node);
    write();
    if (redraw) {
      render(node.id);
    } else if (node.dataset.field === "key" || node.dataset.field === "text" ||
               node.dataset.field === "opt_value") {
      refreshConditions();
    }
  }

  // --- actions of the buttons ----------------------------------------------------------------

  function move(array, from, to) {
    var item = array.splice(from, 1)[0];
    array.splice(to, 0, item);
  }

  var ACTIONS = {
    "add-section": function () {
      var keys = model.sections.map(function (s) { return s.key; });
      model.sections.push({key: uniqueKey("section", keys),
                           title: "Section " + (model.sections.length + 1), weight: 1,
                           questions: []});
      return "fb-s" + (model.sections.length - 1) + "-title";
    },
    "remove-section": function (s) {
      var count = model.sections[s].questions.length;
      if (count && !window.confirm("Remove section " + (s + 1) + " and its " + count +
                                   " question(s)?")) {
        return "fb-s" + s + "-remove";
      }
      model.sections.splice(s, 1);
      return "fb-add-section";
    },
    "section-up": function (s) {
      move(model.sections, s, s - 1);
      return "fb-s" + (s - 1) + "-up";
    },
    "section-down": function (s) {
      move(model.sections, s, s + 1);
      return "fb-s" + (s + 1) + "-down";
    },
    "add-question": function (s) {
      var keys = allQuestions().map(function (q) { return q.key; });
      var questions = model.sections[s].questions;
      questions.push({key: uniqueKey("q", keys), text: "", type: "yes_no", points: 1});
      return "fb-s" + s + "-q" + (questions.length - 1) + "-text";
    },
    "remove-question": function (s, q) {
      model.sections[s].questions.splice(q, 1);
      return "fb-s" + s + "-add-question";
    },
    // Up from a section's first question goes to the end of the section before, and down
    // from its last question to the start of the section after.
    "question-up": function (s, q) {
      var questions = model.sections[s].questions;
      if (q > 0) {
        move(questions, q, q - 1);
        return "fb-s" + s + "-q" + (q - 1) + "-up";
      }
      var before = model.sections[s - 1].questions;
      before.push(questions.splice(q, 1)[0]);
      return "fb-s" + (s - 1) + "-q" + (before.length - 1) + "-up";
    },
    "question-down": function (s, q) {
      var questions = model.sections[s].questions;
      if (q < questions.length - 1) {
        move(questions, q, q + 1);
        return "fb-s" + s + "-q" + (q + 1) + "-down";
      }
      model.sections[s + 1].questions.unshift(questions.splice(q, 1)[0]);
      return "fb-s" + (s + 1) + "-q0-down";
    },
    "add-option": function (s, q) {
      var question = model.sections[s].questions[q];
      question.options = question.options || [];
      question.options.push({value: "", label: "", points: 0});
      return "fb-s" + s + "-q" + q + "-o" + (question.options.length - 1) + "-value";
    },
    "remove-option": function (s, q, o) {
      model.sections[s].questions[q].options.splice(o, 1);
      return "fb-s" + s + "-q" + q + "-add-option";
    }
  };

  function clicked(event) {
    var node = event.target.closest("button[data-action]");
    if (!node || !root.contains(node) || !model) {
      return;
    }
    var action = ACTIONS[node.dataset.action];
    var focus = action(Number(node.dataset.s), Number(node.dataset.q), Number(node.dataset.o));
    write();
    render(focus);
  }

  // --- drawing -------------------------------------------------------------------------------

  function conditionChoices(s, q) {
    var choices = [["", "Always shown"]];
    var current = model.sections[s].questions[q];
    var found = false;
    model.sections.some(function (section) {
      return section.questions.some(function (other) {
        if (other === current) {
          return true; // only questions before this one
        }
        choices.push([other.key, other.key + (other.text ? " \u2014 " + other.text : "")]);
        if (current.condition && other.key === current.condition.question) {
          found = true;
        }
        return false;
      });
    });
    if (isObject(current.condition) && current.condition.question && !found) {
      choices.push([current.condition.question,
                    current.condition.question + " (not before this question)"]);
    }
    return choices;
  }

  function valuesHint(question) {
    var condition = question.condition;
    if (!isObject(condition) || !condition.question) {
      return "";
    }
    var source = allQuestions().filter(function (q) { return q.key === condition.question; })[0];
    if (!source) {
      return "";
    }
    if (source.type === "yes_no") {
      return "Possible values: yes, no";
    }
    if (SELECT_TYPES.indexOf(source.type) !== -1 && source.options) {
      return "Possible values: " + source.options.map(function (o) { return o.value; })
        .join(", ");
    }
    if (source.type === "scale") {
      return "Possible values: " + source.scale_min + " to " + source.scale_max;
    }
    return "";
  }

  /** Keep the condition lists in step with keys as they are typed, without redrawing. */
  function refreshConditions() {
    root.querySelectorAll("select[data-field=cond_question]").forEach(function (node) {
      var s = Number(node.dataset.s);
      var q = Number(node.dataset.q);
      var current = node.value;
      node.replaceChildren();
      conditionChoices(s, q).forEach(function (choice) {
        node.append(el("option", {value: choice[0], text: choice[1]}));
      });
      node.value = current;
      var hint = document.getElementById("fb-s" + s + "-q" + q + "-cond-hint");
      if (hint) {
        hint.textContent = valuesHint(model.sections[s].questions[q]);
      }
    });
  }

  function optionsEditor(q, ids, prefix) {
    var rows = (q.options || []).map(function (option, o) {
      var oid = {s: ids.s, q: ids.q, o: o};
      var p = prefix + "-o" + o;
      var n = o + 1;
      return el("tr", {}, [
        el("td", {}, [input(p + "-value", "opt_value", oid, option.value,
                            {"aria-label": "Option " + n + " value"})]),
        el("td", {}, [input(p + "-label", "opt_label", oid, option.label,
                            {"aria-label": "Option " + n + " label"})]),
        el("td", {}, [input(p + "-points", "opt_points", oid, option.points,
                            {type: "number", step: "any", placeholder: "0",
                             "aria-label": "Option " + n + " points"})]),
        el("td", {class: "text-center"}, [
          el("input", {type: "checkbox", class: "form-check-input", id: p + "-fails",
                       "data-field": "opt_fails", "data-s": ids.s, "data-q": ids.q, "data-o": o,
                       checked: Boolean(option.fails),
                       "aria-label": "Option " + n + " fails a critical question"})
        ]),
        el("td", {}, [button("Remove", "remove-option", oid,
                             {id: p + "-remove", "aria-label": "Remove option " + n,
                              class: "btn btn-sm btn-outline-danger"})])
      ]);
    });
    return el("div", {class: "mt-2"}, [
      el("div", {class: "small fw-semibold", text: "Options"}),
      rows.length ? el("table", {class: "table table-sm mb-1"}, [
        el("thead", {}, [el("tr", {}, ["Value", "Label", "Points", "Fails", ""].map(
          function (h) { return el("th", {class: "small fw-normal", text: h}); }))]),
        el("tbody", {}, rows)
      ]) : el("div", {class: "form-text", text: "A choice question needs at least one option."}),
      button("Add option", "add-option", ids, {id: prefix + "-add-option"})
    ]);
  }

  function questionCard(q, s, j, section, sCount) {
    var ids = {s: s, q: j};
    var p = "fb-s" + s + "-q" + j;
    var firstOverall = s === 0 && j === 0;
    var lastOverall = s === sCount - 1 && j === section.questions.length - 1;
    var condition = isObject(q.condition) ? q.condition : null;
    var type = q.type || "yes_no";
    var body = [
      el("div", {class: "row g-2"}, [
        labelled(p + "-key", "Key", input(p + "-key", "key", ids, q.key), "col-md-2"),
        labelled(p + "-text", "Question text", input(p + "-text", "text", ids, q.text),
                 "col-md-7"),
        labelled(p + "-type", "Type", select(p + "-type", "type", ids, TYPES, type), "col-md-3")
      ]),
      el("div", {class: "row g-2 mt-1 align-items-end"}, [
        labelled(p + "-points", "Points", input(p + "-points", "points", ids, q.points,
                 {type: "number", step: "any", min: "0", placeholder: "1"}), "col-md-2"),
        labelled(p + "-kind", "Kind", select(p + "-kind", "kind", ids, KINDS, q.kind || "normal"),
                 "col-md-3"),
        labelled(p + "-critical", "Critical", select(p + "-critical", "critical", ids,
                 CRITICALS, q.critical || ""), "col-md-4"),
        el("div", {class: "col-md-3"}, [el("div", {class: "form-check mb-1"}, [
          el("input", {type: "checkbox", class: "form-check-input", id: p + "-allow-na",
                       "data-field": "allow_na", "data-s": s, "data-q": j,
                       checked: Boolean(q.allow_na)}),
          el("label", {class: "form-check-label", for: p + "-allow-na", text: "N/A allowed"})
        ])])
      ])
    ];
    if ((q.kind || "normal") !== "normal") {
      body.push(el("div", {class: "form-text", text: "Bonus and penalty questions are yes/no: " +
        "\"yes\" adds (bonus) or takes off (penalty) their points from the total."}));
    }
    if (type === "scale") {
      body.push(el("div", {class: "row g-2 mt-1"}, [
        labelled(p + "-scale-min", "Scale from", input(p + "-scale-min", "scale_min", ids,
                 q.scale_min, {type: "number", step: "1"}), "col-md-2"),
        labelled(p + "-scale-max", "to", input(p + "-scale-max", "scale_max", ids, q.scale_max,
                 {type: "number", step: "1"}), "col-md-2")
      ]));
    }
    if (SELECT_TYPES.indexOf(type) !== -1) {
      body.push(optionsEditor(q, ids, p));
    }
    body.push(el("div", {class: "row g-2 mt-1"}, [
      labelled(p + "-cond", "Show only when", select(p + "-cond", "cond_question", ids,
               conditionChoices(s, j), condition ? condition.question : ""), "col-md-5"),
      labelled(p + "-cond-values", "has one of the values (comma-separated)",
               input(p + "-cond-values", "cond_values", ids,
                     condition ? (condition.values || []).join(", ") : "",
                     {disabled: !condition}), "col-md-7", null)
    ]));
    body.push(el("div", {class: "form-text", id: p + "-cond-hint", text: valuesHint(q)}));
    body.push(el("div", {class: "row g-2 mt-1"}, [
      labelled(p + "-help", "Help for the evaluator", input(p + "-help", "help", ids, q.help),
               "col-md-7"),
      labelled(p + "-competencies", "Competency codes (comma-separated)",
               input(p + "-competencies", "competencies", ids,
                     Array.isArray(q.competencies) ? q.competencies.join(", ") : ""),
               "col-md-5")
    ]));
    var n = (s + 1) + "." + (j + 1);
    return el("div", {class: "border rounded p-2 mb-2 fb-question", "data-key": q.key}, [
      el("div", {class: "d-flex justify-content-between align-items-center mb-1"}, [
        el("span", {class: "small fw-semibold", text: "Question " + n}),
        el("div", {class: "btn-group"}, [
          button("Up", "question-up", ids, {id: p + "-up", disabled: firstOverall,
                 "aria-label": "Move question " + n + " up"}),
          button("Down", "question-down", ids, {id: p + "-down", disabled: lastOverall,
                 "aria-label": "Move question " + n + " down"}),
          button("Remove", "remove-question", ids, {id: p + "-remove",
                 class: "btn btn-sm btn-outline-danger", "aria-label": "Remove question " + n})
        ])
      ])
    ].concat(body));
  }

  function sectionCard(section, s, count) {
    var ids = {s: s};
    var p = "fb-s" + s;
    return el("section", {class: "card mb-3 fb-section"}, [
      el("div", {class: "card-header d-flex justify-content-between align-items-center"}, [
        el("h2", {class: "h6 mb-0", text: "Section " + (s + 1)}),
        el("div", {class: "btn-group"}, [
          button("Up", "section-up", ids, {id: p + "-up", disabled: s === 0,
                 "aria-label": "Move section " + (s + 1) + " up"}),
          button("Down", "section-down", ids, {id: p + "-down", disabled: s === count - 1,
                 "aria-label": "Move section " + (s + 1) + " down"}),
          button("Remove", "remove-section", ids, {id: p + "-remove",
                 class: "btn btn-sm btn-outline-danger",
                 "aria-label": "Remove section " + (s + 1)})
        ])
      ]),
      el("div", {class: "card-body"}, [
        el("div", {class: "row g-2 mb-2"}, [
          labelled(p + "-key", "Section key", input(p + "-key", "key", ids, section.key),
                   "col-md-3"),
          labelled(p + "-title", "Section title", input(p + "-title", "title", ids,
                   section.title), "col-md-6"),
          labelled(p + "-weight", "Weight", input(p + "-weight", "weight", ids, section.weight,
                   {type: "number", step: "any", min: "0", placeholder: "1"}), "col-md-3")
        ])
      ].concat(section.questions.map(function (q, j) {
        return questionCard(q, s, j, section, count);
      }), [button("Add question", "add-question", ids, {id: p + "-add-question",
                                                        class: "btn btn-sm btn-outline-primary"})]))
    ]);
  }

  function render(focusId) {
    var focus = focusId || (document.activeElement && document.activeElement.id);
    var count = model.sections.length;
    root.replaceChildren.apply(root, model.sections.map(function (section, s) {
      return sectionCard(section, s, count);
    }).concat([
      count ? null : el("p", {class: "text-muted", text: "No sections yet."}),
      el("button", {type: "button", class: "btn btn-outline-primary", id: "fb-add-section",
                    "data-action": "add-section", text: "Add section"})
    ].filter(Boolean)));
    var node = focus ? document.getElementById(focus) : null;
    if (node && root.contains(node)) {
      node.focus();
    }
  }

  // --- switching between the editor and the JSON -----------------------------------------

  function showEditor() {
    var parsed = parse();
    if (parsed.error) {
      problem.textContent = parsed.error + " Fix it in the JSON below to use the editor; " +
        "saving shows where the problem is.";
      problem.classList.remove("d-none");
      return false;
    }
    problem.classList.add("d-none");
    model = parsed.model;
    editing = true;
    render();
    root.classList.remove("d-none");
    jsonField.classList.add("d-none");
    toggle.textContent = "Show JSON";
    return true;
  }

  function showJson() {
    if (model) {
      write();
    }
    editing = false;
    root.classList.add("d-none");
    jsonField.classList.remove("d-none");
    toggle.textContent = "Show editor";
  }

  root.addEventListener("input", edited);
  root.addEventListener("change", edited);
  root.addEventListener("click", clicked);
  toggle.addEventListener("click", function () {
    if (editing) {
      showJson();
    } else {
      showEditor();
    }
  });
  textarea.form.addEventListener("submit", function () {
    if (editing) {
      write();
    }
  });

  toggle.classList.remove("d-none");
  // Input the server refused with a JSON error stays in view as JSON, beside its message.
  if (textarea.classList.contains("is-invalid") || !showEditor()) {
    showJson();
  }
}());
