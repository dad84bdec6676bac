// draw_digit.js: the end-to-end test of the draw-a-digit page in a real headless
// browser (Debian's chromium driven by playwright-core): trains a model, starts
// `mxlua scripts/draw_digit.lua`, draws a 1, a 0 and a 7 with pointer strokes as a
// person would, reads the page's answers, checks Clear, saves screenshots in build/.
//   node tests/browser/draw_digit.js      (from the repository root; exit 77: browser unavailable)
// Environment: MXLUA (build/mxlua), CHROMIUM (/usr/bin/chromium), DRAW_PREFIX
// (build/browser/mnist), DRAW_EPOCH (1), KEEP_MODEL=1 to reuse a checkpoint.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const build = path.join(root, 'build');
const mxlua = process.env.MXLUA || path.join(build, 'mxlua');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const prefix = process.env.DRAW_PREFIX || path.join(build, 'browser', 'mnist');
const epoch = Number(process.env.DRAW_EPOCH || 1);
const SKIP = 77;
const DIGITS = (process.env.DRAW_DIGITS || '1,0,7,2,3,4').split(',').map(Number);

let passed = 0, failed = 0;
function check(cond, what) {
  if (cond) { passed++; console.log('ok - ' + what); } else { failed++; console.log('not ok - ' + what); }
}

let playwright;
try {
  playwright = require(path.join(build, 'node', 'node_modules', 'playwright-core'));
} catch (e) {
  console.log('SKIP: playwright-core is not installed in build/node (make browser-deps): ' + e.message);
  process.exit(SKIP);
}
if (!fs.existsSync(chromiumPath)) {
  console.log('SKIP: no chromium at ' + chromiumPath + ' (make deps installs Debian\'s chromium)');
  process.exit(SKIP);
}

// Starts the server (training first when there is no checkpoint); resolves with its URL.
function startServer() {
  fs.mkdirSync(path.dirname(prefix), { recursive: true });
  if (!process.env.KEEP_MODEL) { // so that the model is trained in this run
    const tag = String(epoch).padStart(4, '0');
    for (const end of ['-symbol.json', `-${tag}.params`, `-${tag}.states`]) fs.rmSync(prefix + end, { force: true });
  }
  const child = spawn(mxlua, ['scripts/draw_digit.lua', '--prefix', prefix, '--epoch', String(epoch),
    '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start within 600 s')), 600000);
    let pending = '';
    child.stdout.on('data', (buf) => {
      pending += buf.toString();
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        output.push(line);
        console.log('# server: ' + line);
        const m = line.match(/Serving the draw-a-digit page on (http:\/\/\S+)/);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      }
    });
    child.stderr.on('data', (buf) => {
      for (const line of buf.toString().split(/[\r\n]+/)) if (line.trim()) console.log('# server: ' + line.trim());
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error('the server exited with ' + code)); });
  });
  return { child, url, output };
}

// A deterministic wobble, as a hand never draws a perfect line.
let seed = 7;
function wobble(amount) {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return (seed / 2147483648 - 0.5) * 2 * amount;
}

// Strokes of each digit in the unit square (x right, y down), many points each.
function strokesOf(digit) {
  const pts = (n, f) => Array.from({ length: n + 1 }, (_, i) => f(i / n));
  const lerp = (a, b, t) => a + (b - a) * t;
  if (digit === 1) {
    return [pts(30, (t) => [lerp(0.52, 0.47, t), lerp(0.14, 0.86, t)])];
  }
  if (digit === 0) {
    // Starts at the top, goes round anticlockwise, and closes a little past its start.
    return [pts(60, (t) => {
      const a = -Math.PI / 2 - t * 2.1 * Math.PI;
      return [0.5 + 0.21 * Math.cos(a), 0.5 + 0.34 * Math.sin(a)];
    })];
  }
  if (digit === 7) {
    // The bar left to right, then down to the lower left, in one stroke.
    return [pts(20, (t) => [lerp(0.26, 0.74, t), lerp(0.2, 0.18, t)])
      .concat(pts(30, (t) => [lerp(0.74, 0.42, t), lerp(0.18, 0.86, t)]).slice(1))];
  }
  if (digit === 2) {
    // A hook over the top, down to the lower left, then the base to the right.
    const hook = pts(30, (t) => {
      const a = Math.PI * (1.1 + 1.15 * t);
      return [0.5 + 0.22 * Math.cos(a), 0.34 + 0.17 * Math.sin(a)];
    });
    const [hx, hy] = hook[hook.length - 1];
    return [hook.concat(pts(20, (t) => [lerp(hx, 0.28, t), lerp(hy, 0.82, t)]).slice(1))
      .concat(pts(15, (t) => [lerp(0.28, 0.76, t), lerp(0.82, 0.8, t)]).slice(1))];
  }
  if (digit === 3) {
    // Two bows, one stroke.
    const bow = (cy, r, from, to, n) => pts(n, (t) => {
      const a = from + (to - from) * t;
      return [0.47 + 0.22 * Math.cos(a), cy + r * Math.sin(a)];
    });
    return [bow(0.32, 0.17, -Math.PI * 0.85, Math.PI * 0.5, 30)
      .concat(bow(0.66, 0.19, -Math.PI * 0.5, Math.PI * 0.85, 30).slice(1))];
  }
  if (digit === 4) {
    // Two strokes: down and across, then the long upright.
    return [pts(15, (t) => [lerp(0.4, 0.24, t), lerp(0.14, 0.6, t)])
      .concat(pts(15, (t) => [lerp(0.24, 0.78, t), lerp(0.6, 0.6, t)]).slice(1)),
    pts(25, (t) => [lerp(0.62, 0.6, t), lerp(0.2, 0.88, t)])];
  }
  throw new Error('no strokes for ' + digit);
}

// A finger on a touch screen: CDP touch events, which the page sees as pointer events
// of type "touch".
async function drawByTouch(page, digit) {
  const box = await page.locator('#pad').boundingBox();
  const at = ([x, y]) => ({ x: box.x + x * box.width + wobble(1.5), y: box.y + y * box.height + wobble(1.5) });
  const cdp = await page.context().newCDPSession(page);
  for (const stroke of strokesOf(digit)) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at(stroke[0])] });
    for (const p of stroke.slice(1)) {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [at(p)] });
    }
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  }
  await cdp.detach();
}

// how: 'mouse', 'touch', or 'small' (the mouse, half the size, in the top-left corner).
async function draw(page, digit, how) {
  if (how === 'touch') return drawByTouch(page, digit);
  const box = await page.locator('#pad').boundingBox();
  const [scale, off] = how === 'small' ? [0.5, 0.02] : [1, 0];
  const at = ([x, y]) => [box.x + (off + scale * x) * box.width + wobble(1.2),
    box.y + (off + scale * y) * box.height + wobble(1.2)];
  for (const stroke of strokesOf(digit)) {
    const [x0, y0] = at(stroke[0]);
    await page.mouse.move(x0, y0, { steps: 3 });
    await page.mouse.down();
    for (const p of stroke.slice(1)) {
      const [x, y] = at(p);
      await page.mouse.move(x, y, { steps: 3 });
    }
    await page.mouse.up();
  }
}

const count = (page) => page.locator('#digit').getAttribute('data-count').then(Number);
async function waitCount(page, above) {
  await page.waitForFunction((n) => {
    const el = document.getElementById('digit');
    return Number(el.dataset.count) > n && el.dataset.state === 'done';
  }, above, { timeout: 15000 });
  return count(page);
}

async function inkOnCanvas(page) {
  return page.evaluate(() => {
    const c = document.getElementById('pad');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
    return ink;
  });
}

async function main() {
  const server = startServer();
  let browser;
  try {
    const url = await server.url;
    const home = await fetch(url);
    const body = await home.text();
    check(home.status === 200 && body.includes('id="pad"'),
      'the server trained or loaded a model and serves the page at ' + url + ' (HTTP ' + home.status + ')');
    try {
      browser = await playwright.chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    } catch (e) {
      console.log('SKIP: chromium cannot start: ' + e.message.split('\n')[0]);
      return SKIP;
    }
    const page = await browser.newPage({ viewport: { width: 960, height: 640 }, hasTouch: true });
    const errors = [], foreign = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => { if (!r.url().startsWith(url)) foreign.push(r.url()); });
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('model').textContent.length > 0);
    check(await page.locator('#pad').isVisible(), 'the page shows the drawing canvas');
    check((await page.locator('#bars .bar').count()) === 10, 'the page shows ten probability bars');
    console.log('# model: ' + (await page.locator('#model').textContent()));

    const turns = DIGITS.map((d) => [d, 'mouse']).concat([[7, 'touch'], [7, 'small'], [0, 'small']]);
    for (const [digit, how] of turns) {
      const before = await count(page);
      await draw(page, digit, how);
      const afterStroke = await waitCount(page, before);       // classified when the stroke ended
      const pointer = await page.locator('#pad').getAttribute('data-pointer');
      check(pointer === (how === 'small' ? 'mouse' : how), `the page saw ${pointer} pointer events`);
      const auto = (await page.locator('#digit').textContent()).trim();
      const drawn = how === 'small' ? 'small in a corner' : 'by ' + how;
      check(auto === String(digit), `a ${digit} drawn ${drawn} is read as ${auto} when the stroke ends`);
      await page.click('#classify');
      await waitCount(page, afterStroke);
      const shown = (await page.locator('#digit').textContent()).trim();
      const conf = (await page.locator('#confidence').textContent()).trim();
      check(shown === String(digit), `Classify reads the drawn ${digit} as ${shown} (${conf})`);
      const best = await page.locator('#bars .bar.best .label').textContent();
      check(best === String(digit), `the tallest bar is ${best}`);
      await page.screenshot({ path: path.join(build, `draw_digit_${digit}${how === 'mouse' ? '' : '_' + how}.png`) });
      if (digit === 7 && how === 'mouse') await page.screenshot({ path: path.join(build, 'draw_digit.png') });
      check((await inkOnCanvas(page)) > 0, 'the canvas holds the strokes');
      await page.click('#clear');
      check((await inkOnCanvas(page)) === 0, 'Clear empties the canvas');
      check((await page.locator('#digit').textContent()).trim() === '?', 'Clear resets the answer');
      check((await page.locator('#bars .bar.best').count()) === 0, 'Clear resets the bars');
    }
    // Classify on an empty canvas: a message, no digit.
    const before = await count(page);
    await page.click('#classify');
    await waitCount(page, before);
    check((await page.locator('#status').textContent()).includes('blank'), 'Classify on a blank canvas says so');
    await page.screenshot({ path: path.join(build, 'draw_digit_cleared.png') });
    check(errors.length === 0, 'no script errors on the page' + (errors.length ? ': ' + errors.join('; ') : ''));
    check(foreign.length === 0, 'no request leaves the server' + (foreign.length ? ': ' + foreign.join(' ') : ''));
  } finally {
    if (browser) await browser.close();
    const exited = new Promise((resolve) => server.child.on('exit', (code) => resolve(code)));
    server.child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    check(code === 0, 'Ctrl-C (SIGINT) stops the server cleanly (exit ' + code + ')');
    if (code === 'timeout') server.child.kill('SIGKILL');
  }
  return failed ? 1 : 0;
}

main().then((rc) => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(rc);
}, (e) => {
  console.log('not ok - ' + (e && e.stack || e));
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
