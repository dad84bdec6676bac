-- draw_digit.page: the draw-a-digit page (HTML, CSS and script in one string, no
-- external resources): a canvas drawn on with pointer events, Classify and
-- Clear buttons, the predicted digit, the ten probabilities as a bar chart.
return [==[<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mxlua: draw a digit</title>
<link rel="icon" href="data:,">
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font-family: system-ui, sans-serif; background: #f3f4f6; color: #111827; }
  main { max-width: 900px; margin: 0 auto; padding: 16px; }
  h1 { font-size: 22px; margin: 4px 0 12px; }
  .row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
  .panel { background: #fff; border-radius: 10px; padding: 14px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
  #pad { width: min(84vw, 392px); height: min(84vw, 392px); border: 2px solid #9ca3af; border-radius: 6px;
         background: #fff; touch-action: none; cursor: crosshair; display: block; }
  .buttons { display: flex; gap: 10px; margin-top: 12px; }
  button { font-size: 17px; padding: 9px 20px; border-radius: 6px; border: 1px solid #6b7280;
           background: #fff; cursor: pointer; }
  button.primary { background: #2563eb; border-color: #2563eb; color: #fff; }
  #digit { font-size: 120px; font-weight: 700; line-height: 1; text-align: center; min-width: 170px;
           color: #1d4ed8; }
  #confidence { text-align: center; color: #4b5563; min-height: 20px; }
  #bars { display: flex; align-items: flex-end; gap: 6px; height: 170px; margin-top: 12px; }
  .bar { width: 26px; display: flex; flex-direction: column; align-items: center; justify-content: flex-end;
         height: 100%; }
  .bar .fill { width: 100%; background: #93c5fd; border-radius: 3px 3px 0 0; height: 0; transition: height .15s; }
  .bar.best .fill { background: #2563eb; }
  .bar .p { font-size: 10px; color: #4b5563; height: 14px; }
  .bar .label { font-size: 15px; font-weight: 600; margin-top: 3px; }
  #preview { width: 112px; height: 112px; image-rendering: pixelated; border: 1px solid #d1d5db; background: #000; }
  #status { min-height: 20px; margin-top: 10px; color: #b91c1c; }
  #model { font-size: 12px; color: #6b7280; margin-top: 10px; max-width: 360px; }
</style>
</head>
<body>
<main>
  <h1>Draw a digit (0-9), the model reads it</h1>
  <div class="row">
    <div class="panel">
      <canvas id="pad" width="280" height="280" aria-label="drawing area"></canvas>
      <div class="buttons">
        <button id="classify" class="primary">Classify</button>
        <button id="clear">Clear</button>
      </div>
      <div id="status" role="status"></div>
    </div>
    <div class="panel">
      <div id="digit" data-count="0">?</div>
      <div id="confidence"></div>
      <div id="bars"></div>
      <div style="display:flex; gap:12px; align-items:center; margin-top:12px">
        <canvas id="preview" width="28" height="28" title="what the model sees (28x28)"></canvas>
        <div style="font-size:13px; color:#4b5563">What the model sees:<br>cropped, fit to 20x20,<br>
          centred by mass in 28x28.</div>
      </div>
      <div id="model"></div>
    </div>
  </div>
</main>
<script>
"use strict";
const pad = document.getElementById('pad');
const ctx = pad.getContext('2d');
const digitEl = document.getElementById('digit');
const confEl = document.getElementById('confidence');
const statusEl = document.getElementById('status');
const barsEl = document.getElementById('bars');
const preview = document.getElementById('preview').getContext('2d');
let strokes = 0, drawing = false, last = null, seq = 0, count = 0;

for (let d = 0; d < 10; d++) {
  const bar = document.createElement('div');
  bar.className = 'bar';
  bar.id = 'bar-' + d;
  bar.innerHTML = '<div class="p"></div><div class="fill"></div><div class="label">' + d + '</div>';
  barsEl.appendChild(bar);
}

function setupPen() {
  ctx.lineWidth = 26;        // about a tenth of a digit drawn at full height, as MNIST pens
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = '#000';
  ctx.fillStyle = '#000';
}
setupPen();

function point(e) {
  const r = pad.getBoundingClientRect();
  return { x: (e.clientX - r.left) * pad.width / r.width, y: (e.clientY - r.top) * pad.height / r.height };
}
pad.addEventListener('pointerdown', (e) => {
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  pad.dataset.pointer = e.pointerType;   // mouse, pen or touch
  drawing = true;
  last = point(e);
  ctx.beginPath();
  ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
  ctx.fill();
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of (events.length ? events : [e])) {
    const p = point(ev);
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
  }
});
function endStroke(e) {
  if (!drawing) return;
  drawing = false;
  strokes++;
  classify();      // classifies by itself when a stroke ends
}
pad.addEventListener('pointerup', endStroke);
pad.addEventListener('pointercancel', endStroke);

function showResult(r) {
  digitEl.textContent = String(r.digit);
  const probs = r.probabilities;
  confEl.textContent = 'probability ' + (100 * probs[r.digit]).toFixed(1) + ' %';
  for (let d = 0; d < 10; d++) {
    const bar = document.getElementById('bar-' + d);
    bar.querySelector('.fill').style.height = Math.max(0, Math.min(1, probs[d])) * 140 + 'px';
    bar.querySelector('.p').textContent = probs[d] >= 0.005 ? Math.round(100 * probs[d]) + '%' : '';
    bar.classList.toggle('best', d === r.digit);
  }
  if (r.image) {
    const img = preview.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = Math.round(255 * r.image[i]);
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    preview.putImageData(img, 0, 0);
  }
}

function resetResult(text) {
  digitEl.textContent = text;
  confEl.textContent = '';
  for (let d = 0; d < 10; d++) {
    const bar = document.getElementById('bar-' + d);
    bar.querySelector('.fill').style.height = '0px';
    bar.querySelector('.p').textContent = '';
    bar.classList.remove('best');
  }
  preview.clearRect(0, 0, 28, 28);
}

async function classify() {
  const mine = ++seq;
  statusEl.textContent = '';
  digitEl.dataset.state = 'pending';
  try {
    const res = await fetch('/api/classify', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ png: pad.toDataURL('image/png') }),
    });
    const r = await res.json();
    if (mine !== seq) return;          // a newer request has been sent
    if (!res.ok) {
      resetResult('?');
      statusEl.textContent = r.error || ('error ' + res.status);
    } else {
      showResult(r);
    }
  } catch (err) {
    if (mine !== seq) return;
    statusEl.textContent = 'server unreachable: ' + err;
  }
  digitEl.dataset.state = 'done';
  digitEl.dataset.count = String(++count);
}

document.getElementById('classify').addEventListener('click', classify);
document.getElementById('clear').addEventListener('click', () => {
  seq++;
  ctx.clearRect(0, 0, pad.width, pad.height);
  strokes = 0;
  statusEl.textContent = '';
  resetResult('?');
  digitEl.dataset.state = 'cleared';
});

fetch('/api/model').then((r) => r.json()).then((m) => {
  document.getElementById('model').textContent =
    'Model: ' + (m.name || '?') + (m.epoch !== undefined ? ', epoch ' + m.epoch : '') +
    (m.layers ? ' — ' + m.layers.join(' → ') : '') +
    (m.parameters ? ' (' + m.parameters.toLocaleString() + ' parameters)' : '') +
    (m.test_accuracy !== undefined ? '; MNIST test accuracy ' + (100 * m.test_accuracy).toFixed(2) + ' %' : '');
}).catch(() => {});
</script>
</body>
</html>
]==]
