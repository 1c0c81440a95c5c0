// idk's page: draw or drop images; each answer in words with one histogram per class of the
// S sampled probabilities (the tutorial's figure), accepted classes highlighted, threshold marked.
"use strict";
const BINS = 20, HIST_W = 72, HIST_H = 40;
const SVG = "http://www.w3.org/2000/svg";
const info = document.getElementById("info"), results = document.getElementById("results");
let model = null;  // /api/info
const PREPARATION = {
  "mnist": "Images are read the MNIST way: ink on a plain background, cropped, scaled and centred.",
  "fashion-mnist": "Photos are read the Fashion-MNIST way: trimmed to the object, shrunk, sharpened, centred, negated, greyscale.",
  "fit": "Images are scaled to the model's input size, keeping their aspect ratio.",
};

fetch("api/info").then(r => r.json().then(d => {
  if (!r.ok || !d || !d.input || !d.classes || !d.service) throw new Error((d && d.error) || `HTTP ${r.status}`);
  return d;
})).then(d => {
  model = d;
  const size = `${d.input.height}×${d.input.width} ${d.input.channels === 3 ? "colour" : "greyscale"}`;
  info.textContent = `model: ${d.preset} (${d.class}), ${d.epochs} epochs, ${d.classes.length} classes ` +
    `(${d.classes.join(", ")}), ${size} inputs, ${d.service.samples} sampled networks. Rule: ${d.rule_text}`;
  document.getElementById("draw-panel").hidden = !d.input.drawn;
  document.getElementById("preparation").textContent = PREPARATION[d.input.preparation] || "";
  const notes = d.warnings || [];  // the server's (idk.training.notices): unfinished, uncalibrated, answers noise, ...
  if (notes.length) {
    const w = document.getElementById("warning");
    w.textContent = "Note: " + notes.join("; ") + ".";
    w.hidden = false;
  }
  document.body.dataset.ready = "true";
}).catch(err => {
  info.textContent = err instanceof TypeError ? "could not reach the idk server" : `the idk server could not describe its model: ${err.message}`;
});

// a number with ``digits`` decimals; "–" for a missing one (the API writes NaN as null)
const fixed = (v, digits) => (typeof v === "number" ? v.toFixed(digits) : "–");
// a probability in two decimals rounded down after six significant digits, as idk predict writes it
// (rules.shown_probability): "1.00" means 0.9999995 or more; the 1e-9 undoes float error (0.29 * 100
// is 28.999999999999996)
const probability = v => (typeof v === "number" ? (Math.floor(Number(v.toPrecision(6)) * 100 + 1e-9) / 100).toFixed(2) : "–");
// significant digits (a string, first one non-zero) and the power of ten of the first, written as
// Python's "%.Ng" writes them: fixed between 1e-4 and 10^N, else with an exponent of two digits or
// more; trailing zeros dropped ("4521", -1 → "0.4521"; "2667", -5 → "2.667e-05")
const pythonG = (digits, exp, n) => {
  const kept = digits.replace(/0+$/, "") || "0";
  if (exp < -4 || exp >= n) {
    const mantissa = kept.length > 1 ? `${kept[0]}.${kept.slice(1)}` : kept;
    return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `0.${"0".repeat(-exp - 1)}${kept}`;
  const whole = kept.slice(0, exp + 1).padEnd(exp + 1, "0");
  return kept.length > exp + 1 ? `${whole}.${kept.slice(exp + 1)}` : whole;
};
// ``v`` to ``n`` significant digits as `idk.decision.rules.shown` writes a threshold: a positive value
// rounded down from its shortest decimal form, anything else to nearest; in Python's "%.Ng" form
const down = (v, n) => {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const shortest = Math.abs(v > 0 ? v : Number(v.toPrecision(n))).toExponential();  // "4.5218e-1": every digit it needs
  const [mantissa, exp] = shortest.split("e");
  return (v < 0 ? "-" : "") + pythonG(mantissa.replace(".", "").slice(0, n), Number(exp), n);
};
// a score beside its threshold, both rounded down (the threshold reads as in the rule's summary, and
// the two keep their order): four significant digits, or as many more as tell them apart (as `idk predict`)
const apart = (a, b) => {
  if (typeof a !== "number" || typeof b !== "number") return [fixed(a, 3), fixed(b, 3)];
  let x = "", y = "";
  for (let digits = 4; digits <= 9; digits++) {
    x = down(a, digits);
    y = down(b, digits);
    if (x !== y) break;
  }
  return [x, y];
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// One class's histogram: BINS bins on [0, 1]; bar height ∝ √count (a few stray draws stay visible).
function histogram(name, draws, mean, accepted, threshold) {
  const box = el("div", "hist" + (accepted ? " accepted" : ""));
  box.dataset.class = name;
  const counts = new Array(BINS).fill(0);
  draws.forEach(p => { counts[Math.min(BINS - 1, Math.floor(p * BINS))] += 1; });
  const peak = Math.max(...counts, 1);
  const pic = svg("svg", { width: HIST_W, height: HIST_H + 2, viewBox: `0 0 ${HIST_W} ${HIST_H + 2}`, role: "img" });
  const title = svg("title", {});
  title.textContent = `${name}: ${draws.length} sampled probabilities`;
  pic.append(title);
  const w = HIST_W / BINS;
  counts.forEach((c, i) => {
    if (!c) return;
    const h = Math.max(1, HIST_H * Math.sqrt(c / peak));
    pic.append(svg("rect", { class: "bin", x: i * w + 0.5, y: HIST_H - h, width: w - 1, height: h }));
  });
  pic.append(svg("line", { class: "axis", x1: 0, x2: HIST_W, y1: HIST_H + 0.5, y2: HIST_H + 0.5 }));
  if (threshold !== null) {
    const x = threshold * HIST_W;
    pic.append(svg("line", { class: "threshold", x1: x, x2: x, y1: 0, y2: HIST_H + 2 }));
  }
  box.append(pic, el("div", "label", name), el("div", "mean", probability(mean)));
  return box;
}

// A number in a sentence, kept on one line ("3.696e-8" must not break at its minus sign).
const num = text => el("span", "num", text);

// Why an image was answered as it was, in words: the rule's test, and the most probable class when refused.
function reason(answer, rule) {
  const line = el("div", "score");
  const [score, threshold] = apart(answer.score, answer.threshold);
  if (model && model.calibration && model.calibration.feasible === false) {  // its threshold would say nothing
    line.append(`the model's rule refuses every image (${model.rule_summary})`);
    return line;
  }
  const guess = answer.most_probable_name;
  const mean = guess === null || guess === undefined ? null : answer.probabilities.mean[answer.most_probable];
  if (rule.name === "percentile" && answer.label === null && answer.score > answer.threshold) {
    line.append(`every class's ${rule.percentile}th-percentile probability over the sampled networks is above `,
      num(threshold), " (the dashed line): an answer naming them all says nothing");
  } else if (rule.name === "percentile") {
    line.append(`accepted: classes whose ${rule.percentile}th-percentile probability over the sampled networks is above `,
      num(threshold), " (the dashed line); the highest is ", num(score));
  } else if (answer.label === null) {
    line.append(`the sampled networks are too unsure: their ${rule.score} is `, num(score),
      ", above the cut-off ", num(threshold));
  } else {
    line.append(`${rule.score} `, num(score), " is within the cut-off ", num(threshold));
  }
  if (answer.label === null && mean !== null) {
    line.append(`. Most probable: ${guess} (mean probability `, num(probability(mean)), "), not sure enough to answer");
  }
  return line;
}

// ``blob`` shown in ``img``, its object URL freed once drawn (or found to be no image the browser shows either).
function picture(img, blob) {
  const url = URL.createObjectURL(blob);
  img.onload = () => URL.revokeObjectURL(url);
  img.onerror = () => { URL.revokeObjectURL(url); img.replaceWith(el("div", "noimage", "?")); };
  img.src = url;
}

// A row for an image, at the top of the list, waiting for its answer (filled by ``fill``).
function pending(name, blob) {
  const row = el("div", "result pending");
  const img = el("img");
  img.alt = name;
  picture(img, blob);
  const body = el("div", "body");
  body.append(el("div", "name", name), el("div", "score answering", "answering…"));
  row.append(img, body);
  results.prepend(row);
  return row;
}

function fill(row, name, answer) {
  row.classList.remove("pending");
  const body = row.querySelector(".body");
  body.replaceChildren(el("div", "name", name));
  if (answer.error) {
    body.append(el("div", "error", answer.error.startsWith(name + ": ") ? answer.error.slice(name.length + 2) : answer.error));
    return;
  }
  body.append(el("div", "verdict" + (answer.label === null ? " idk" : ""), answer.verdict));
  const rule = model ? model.rule : { name: "percentile", percentile: 50 };
  if (answer.blank) {
    body.append(el("div", "score", "nothing to classify found (a blank image)"));
    return;
  }
  body.append(reason(answer, rule));
  if (answer.note) body.append(el("div", "note", answer.note));
  if (answer.samples) {
    const hists = el("div", "hists");
    const threshold = rule.name === "percentile" ? answer.threshold : null;
    const classes = model ? model.classes : answer.samples.map((_, c) => String(c));
    answer.samples.forEach((draws, c) => hists.append(
      histogram(classes[c], draws, answer.probabilities.mean[c], answer.accepted.includes(c), threshold)));
    body.append(el("div", "caption",
      `each class's probability under ${answer.samples[0].length} sampled networks (0 to 1; below: the mean)`), hists);
  }
}

// One request per image, a few at a time: one unreadable or oversized file, or more files than a
// request may hold, fails alone; a busy server (503) is asked again after its Retry-After.
const AT_ONCE = 4, RETRIES = 3;
async function answer(name, blob) {
  const form = new FormData();
  form.append("files", blob, name);
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await fetch("api/predict", { method: "POST", body: form });
      if (r.status === 503 && attempt < RETRIES) {
        await new Promise(done => setTimeout(done, 1000 * (Number(r.headers.get("Retry-After")) || 1)));
        continue;
      }
      const reply = await r.json();
      return reply.images ? reply.images[0] : { error: reply.error || `HTTP ${r.status}` };
    } catch (err) {
      // fetch's TypeError: no answer came (the server is down, or it closed the connection: e.g. a file over its size limit)
      return { error: err instanceof TypeError ? "request failed: no answer from the idk server" : "request failed: " + err };
    }
  }
}

async function ask(files) {
  const queue = files.map(([name, blob]) => [name, blob, pending(name, blob)]);
  const worker = async () => {
    for (let job; (job = queue.shift()); ) {
      if (job[2].isConnected) fill(job[2], job[0], await answer(job[0], job[1]));  // "Clear answers" drops the rest
    }
  };
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, queue.length) }, worker));
}

const pad = document.getElementById("pad"), ctx = pad.getContext("2d");
function clearPad() { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height); }
clearPad();
ctx.strokeStyle = "#fff"; ctx.lineWidth = 20; ctx.lineCap = ctx.lineJoin = "round";
let drawing = false, drawingRow = null, strokes = 0;  // the current drawing's row, answered again after each stroke
function at(e) {  // in the canvas's own pixels (CSS may show it smaller)
  const b = pad.getBoundingClientRect();
  return [(e.clientX - b.left) * pad.width / b.width, (e.clientY - b.top) * pad.height / b.height];
}
pad.addEventListener("pointerdown", e => {
  drawing = true;
  const [x, y] = at(e);
  ctx.beginPath(); ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fillStyle = "#fff"; ctx.fill();  // a tap is a dot
  ctx.beginPath(); ctx.moveTo(x, y);
  pad.setPointerCapture(e.pointerId);
});
pad.addEventListener("pointermove", e => { if (drawing) { ctx.lineTo(...at(e)); ctx.stroke(); } });
function endStroke() {
  if (!drawing) return;
  drawing = false;
  const stroke = String(++strokes);
  pad.toBlob(async b => {
    if (!drawingRow || !drawingRow.isConnected) drawingRow = pending("drawing.png", b);
    else {  // the previous stroke's answer stays, dimmed and marked, until this one's comes
      if (drawingRow.querySelector("img")) picture(drawingRow.querySelector("img"), b);
      drawingRow.classList.add("pending");
      if (!drawingRow.querySelector(".answering")) drawingRow.querySelector(".body").append(el("div", "score answering", "answering…"));
    }
    const row = drawingRow;
    row.dataset.stroke = stroke;  // the row shows its latest stroke's answer, whichever reply comes last
    const reply = await answer("drawing.png", b);
    if (row.dataset.stroke === stroke) {
      fill(row, "drawing.png", reply);
      row.dataset.answered = stroke;
    }
  }, "image/png");
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
document.getElementById("clear").onclick = () => { clearPad(); drawingRow = null; };  // the next drawing gets a row of its own
document.getElementById("forget").onclick = () => { results.replaceChildren(); drawingRow = null; };

// Files dropped anywhere on the page are answered (the browser would otherwise open them and leave the page).
const drop = document.getElementById("drop");
document.getElementById("files").onchange = e => {
  ask([...e.target.files].map(f => [f.name, f]));
  e.target.value = "";  // choosing the same file again answers it again
};
document.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
document.addEventListener("dragleave", e => { if (!e.relatedTarget) drop.classList.remove("over"); });
document.addEventListener("drop", e => {
  e.preventDefault(); drop.classList.remove("over");
  ask([...e.dataTransfer.files].map(f => [f.name, f]));
});
