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
  const notes = d.warnings || [];  // the server's: unfinished, uncalibrated, calibrated on too few images
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
// a score beside its threshold: four significant digits, or as many more as tell them apart (as `idk predict`)
const apart = (a, b) => {
  if (typeof a !== "number" || typeof b !== "number") return [fixed(a, 3), fixed(b, 3)];
  let x = "", y = "";
  for (let digits = 4; digits <= 9; digits++) {
    x = a.toPrecision(digits);
    y = b.toPrecision(digits);
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
  box.append(pic, el("div", "label", name), el("div", "mean", fixed(mean, 2)));
  return box;
}

function show(name, blob, answer) {
  const row = el("div", "result");
  const img = el("img");
  img.src = URL.createObjectURL(blob);
  img.alt = name;
  const body = el("div");
  body.append(el("div", "name", name));
  if (answer.error) {
    body.append(el("div", "error", answer.error));
  } else {
    body.append(el("div", "verdict" + (answer.label === null ? " idk" : ""), answer.verdict));
    const rule = model ? model.rule : { name: "percentile", percentile: 50 };
    if (answer.blank) {
      body.append(el("div", "score", "nothing to classify found (a blank image)"));
    } else if (rule.name === "percentile") {
      const [score, threshold] = apart(answer.score, answer.threshold);
      body.append(el("div", "score",
        `accepted: classes whose ${rule.percentile}th-percentile probability is above ${threshold} ` +
        `(the dashed line); highest: ${score}`));
    } else {
      const [score, threshold] = apart(answer.score, answer.threshold);
      body.append(el("div", "score", `${rule.score} = ${score}; refuses above ${threshold}`));
    }
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
  row.append(img, body);
  results.prepend(row);
}

async function ask(files) {
  const form = new FormData();
  files.forEach(([name, blob]) => form.append("files", blob, name));
  try {
    const r = await fetch("api/predict", { method: "POST", body: form });
    const answer = await r.json();
    if (answer.images) answer.images.forEach((a, i) => show(files[i][0], files[i][1], a));
    else files.forEach(([name, blob]) => show(name, blob, answer));
  } catch (err) {
    files.forEach(([name, blob]) => show(name, blob, { error: "request failed: " + err }));
  }
}

const pad = document.getElementById("pad"), ctx = pad.getContext("2d");
function clearPad() { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height); }
clearPad();
ctx.strokeStyle = "#fff"; ctx.lineWidth = 20; ctx.lineCap = ctx.lineJoin = "round";
let drawing = false;
function at(e) { const b = pad.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; }
pad.addEventListener("pointerdown", e => {
  drawing = true; ctx.beginPath(); ctx.moveTo(...at(e)); ctx.lineTo(...at(e)); ctx.stroke();
  pad.setPointerCapture(e.pointerId);
});
pad.addEventListener("pointermove", e => { if (drawing) { ctx.lineTo(...at(e)); ctx.stroke(); } });
function endStroke() {
  if (!drawing) return;
  drawing = false;
  pad.toBlob(b => ask([["drawing.png", b]]), "image/png");
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
document.getElementById("clear").onclick = clearPad;

const drop = document.getElementById("drop");
document.getElementById("files").onchange = e => {
  ask([...e.target.files].map(f => [f.name, f]));
  e.target.value = "";  // choosing the same file again answers it again
};
drop.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", e => {
  e.preventDefault(); drop.classList.remove("over");
  ask([...e.dataTransfer.files].map(f => [f.name, f]));
});
