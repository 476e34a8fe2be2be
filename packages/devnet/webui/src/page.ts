// The single page served at GET /: self-contained (inline CSS and JS, no external resources) so it
// renders on an offline machine and through a tunnel alike. It talks the Gradio 3 queue protocol
// (gradio.ts) over a WebSocket whose URL is derived from `location`, so it works under whatever
// host, port, scheme (ws/wss) and path prefix the tunnel exposes it at.
//
// Stable element ids, relied on by the browser test:
//   #prompt #seed #steps #width #height   inputs (seed -1 = random)
//   #generate                             the button (disabled while a job runs)
//   #progress                             container; data-state = idle|queued|running|done|error,
//                                         data-step / data-total; its text reads "Step i / n"
//   #progress-bar #progress-text          the bar's fill and the text inside #progress
//   #result                               <img>, src = data:image/png;base64,..., data-seed
//   #info #error                          generation info line / error message

export const PAGE_TITLE = '2020117 demo WebUI'

// The script avoids backticks and "${" so it can live inside this template literal untouched.
const SCRIPT = String.raw`
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var form = $('form'), button = $('generate'), progress = $('progress'), bar = $('progress-bar');
  var text = $('progress-text'), errorBox = $('error'), result = $('result'), info = $('info');

  function setProgress(state, step, total, label) {
    progress.dataset.state = state;
    progress.dataset.step = String(step);
    progress.dataset.total = String(total);
    bar.style.width = (total > 0 ? Math.round((step / total) * 100) : 0) + '%';
    text.textContent = label;
  }

  function fail(message) {
    setProgress('error', Number(progress.dataset.step) || 0, Number(progress.dataset.total) || 0, 'Failed');
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function queueUrl() {
    var url = new URL('queue/join', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = '';
    url.hash = '';
    return url.href;
  }

  function number(id, fallback) {
    var raw = $(id).value.trim();
    return raw === '' ? fallback : Number(raw);
  }

  function generate() {
    var data = [$('prompt').value, number('seed', -1), number('steps', 20), number('width', 512), number('height', 512)];
    var total = data[2];
    var sessionHash = Math.random().toString(36).slice(2, 13);
    var finished = false;
    button.disabled = true;
    errorBox.hidden = true;
    setProgress('queued', 0, total, 'Connecting');

    var ws = new WebSocket(queueUrl());
    ws.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return fail('unreadable message from the server'); }
      switch (msg.msg) {
        case 'send_hash':
          ws.send(JSON.stringify({ fn_index: 0, session_hash: sessionHash }));
          break;
        case 'estimation':
          setProgress('queued', 0, total, 'Queued');
          break;
        case 'send_data':
          ws.send(JSON.stringify({ fn_index: 0, session_hash: sessionHash, data: data, event_data: null }));
          break;
        case 'process_starts':
          setProgress('running', 0, total, 'Step 0 / ' + total);
          break;
        case 'progress':
          var p = msg.progress_data && msg.progress_data[0];
          if (p) setProgress('running', p.index, p.length, 'Step ' + p.index + ' / ' + p.length);
          break;
        case 'process_completed':
          finished = true;
          if (msg.success) show(msg.output.data); else fail((msg.output && msg.output.error) || 'generation failed');
          ws.close();
          break;
      }
    };
    ws.onclose = function () {
      button.disabled = false;
      if (!finished) fail('the connection closed before the image arrived');
    };
  }

  function show(data) {
    var details = {};
    try { details = JSON.parse(data[1]); } catch (e) { /* the image alone is still worth showing */ }
    result.src = data[0];
    result.dataset.seed = String(details.seed);
    result.hidden = false;
    info.textContent = 'Seed ' + details.seed + ', ' + details.steps + ' steps, ' + details.width + 'x' + details.height;
    var total = Number(progress.dataset.total) || 0;
    setProgress('done', total, total, 'Done: ' + total + ' / ' + total + ' steps');
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (!button.disabled) generate();
  });
})();
`

const STYLE = `
  :root { color-scheme: dark; --accent: #f97316; --panel: #1f2937; --line: #374151; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, sans-serif; background: #111827; color: #e5e7eb; }
  main { max-width: 880px; margin: 0 auto; padding: 24px; }
  h1 { margin: 0 0 4px; font-size: 22px; }
  .sub { margin: 0 0 20px; color: #9ca3af; }
  form { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 16px; }
  label { display: block; font-size: 13px; color: #9ca3af; }
  textarea, input { width: 100%; margin-top: 4px; padding: 8px; border-radius: 6px; border: 1px solid var(--line);
    background: #111827; color: inherit; font: inherit; }
  .row { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 12px 0; }
  button { width: 100%; padding: 10px; border: 0; border-radius: 6px; background: var(--accent); color: #111827;
    font-weight: 600; font-size: 16px; cursor: pointer; }
  button:disabled { opacity: 0.5; cursor: progress; }
  #progress { margin: 16px 0; }
  .bar { height: 10px; border-radius: 5px; background: var(--line); overflow: hidden; }
  #progress-bar { height: 100%; width: 0; background: var(--accent); transition: width 0.1s linear; }
  #progress-text { display: block; margin-top: 4px; font-size: 13px; color: #9ca3af; }
  #error { color: #fca5a5; }
  figure { margin: 0; }
  #result { max-width: 100%; border-radius: 8px; border: 1px solid var(--line); }
  figcaption { font-size: 13px; color: #9ca3af; }
`

export function renderPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${PAGE_TITLE}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
  <h1>${PAGE_TITLE}</h1>
  <p class="sub">A stand-in for Stable Diffusion WebUI: the pictures are procedural, the progress is real.</p>
  <form id="form">
    <label for="prompt">Prompt</label>
    <textarea id="prompt" rows="3" placeholder="a lighthouse at dusk, oil painting"></textarea>
    <div class="row">
      <label>Seed <input id="seed" type="number" value="-1" min="-1" max="4294967295" step="1"></label>
      <label>Steps <input id="steps" type="number" value="20" min="1" max="150" step="1"></label>
      <label>Width <input id="width" type="number" value="512" min="64" max="2048" step="1"></label>
      <label>Height <input id="height" type="number" value="512" min="64" max="2048" step="1"></label>
    </div>
    <button id="generate" type="submit">Generate</button>
  </form>
  <div id="progress" data-state="idle" data-step="0" data-total="0">
    <div class="bar"><div id="progress-bar"></div></div>
    <span id="progress-text">Idle</span>
  </div>
  <p id="error" role="alert" hidden></p>
  <figure>
    <img id="result" alt="Generated image" hidden>
    <figcaption id="info"></figcaption>
  </figure>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`
}
