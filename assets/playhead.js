// The piano roll's playhead: a vertical line over each roll picture (class "pp-roll", id
// "NAME-roll") that follows its audio player (id "NAME-audio") while it plays.
// The time scale comes from the PNG itself: pianoplay.plot.roll_png writes a text chunk
// "pianoplay" = {"px_step", "steps", "step_seconds", "rows": [{"first", "end", "left", "top",
// "bottom"}]}: a long roll wraps onto rows, and step t of the row with first <= t < end
// starts at x = left + (t - first) * px_step in the picture's own pixels, between top and
// bottom. (A chunk without rows is one row: {"left", "top", "bottom"} from step 0.)
// Served inline by app.py.
(() => {
  const scales = new Map(); // picture URL -> Promise of its scale (or null)

  function readScale(buffer) {
    const bytes = new Uint8Array(buffer);
    const view = new DataView(buffer);
    const text = new TextDecoder("latin1");
    for (let at = 8; at + 8 <= bytes.length; ) {
      const length = view.getUint32(at);
      const type = text.decode(bytes.subarray(at + 4, at + 8));
      if (type === "tEXt") {
        const data = bytes.subarray(at + 8, at + 8 + length);
        const zero = data.indexOf(0);
        if (text.decode(data.subarray(0, zero)) === "pianoplay") {
          return JSON.parse(text.decode(data.subarray(zero + 1)));
        }
      }
      if (type === "IEND") break;
      at += 12 + length;
    }
    return null;
  }

  function scaleOf(url) {
    if (!scales.has(url)) {
      scales.set(url, fetch(url).then((r) => r.arrayBuffer()).then(readScale).catch(() => null));
    }
    return scales.get(url);
  }

  // Gradio's player (wavesurfer) keeps its <audio> in a shadow root inside the player;
  // the plain <audio> beside it is a hidden fallback without a source.
  const found = new Map(); // player id -> audio element
  function audioOf(player) {
    const known = found.get(player.id);
    if (known && known.isConnected && player.contains(known.getRootNode().host || known)) {
      return known;
    }
    let audio = null;
    const plain = player.querySelector("audio");
    if (plain && plain.currentSrc) audio = plain;
    for (const el of audio ? [] : player.querySelectorAll("div")) {
      audio = el.shadowRoot && el.shadowRoot.querySelector("audio");
      if (audio) break;
    }
    if (audio) found.set(player.id, audio);
    return audio;
  }

  function lineOf(box) {
    let line = box.querySelector(".pp-playhead");
    if (!line) {
      line = document.createElement("div");
      line.className = "pp-playhead";
      line.style.cssText =
        "position:absolute;width:2px;background:#d62728;pointer-events:none;z-index:5;" +
        "display:none;transform:translateX(-1px)";
      box.appendChild(line);
    }
    return line;
  }

  async function place(roll) {
    const img = roll.querySelector("img");
    const player = document.getElementById(roll.id.replace(/-roll$/, "-audio"));
    const audio = player && audioOf(player);
    if (!img || !audio || !img.naturalWidth) return;
    const box = img.parentElement;
    if (getComputedStyle(box).position === "static") box.style.position = "relative";
    const line = lineOf(box);
    const scale = await scaleOf(img.currentSrc || img.src);
    if (!scale || (audio.paused && audio.currentTime === 0)) {
      line.style.display = "none";
      return;
    }
    const step = Math.min(audio.currentTime / scale.step_seconds, scale.steps);
    const rows = scale.rows || [{ first: 0, end: scale.steps, left: scale.left, top: scale.top,
                                  bottom: scale.bottom }];
    const row = rows.find((r) => step >= r.first && step < r.end) || rows[rows.length - 1];
    // the picture may be shown scaled, and centred in its box (object-fit: contain)
    const zoom = Math.min(img.clientWidth / img.naturalWidth, img.clientHeight / img.naturalHeight);
    const dx = img.offsetLeft + (img.clientWidth - img.naturalWidth * zoom) / 2;
    const dy = img.offsetTop + (img.clientHeight - img.naturalHeight * zoom) / 2;
    line.style.left = `${dx + (row.left + (step - row.first) * scale.px_step) * zoom}px`;
    line.style.top = `${dy + row.top * zoom}px`;
    line.style.height = `${(row.bottom - row.top) * zoom}px`;
    line.style.display = "block";
    line.dataset.step = step.toFixed(2);
  }

  function tick() {
    document.querySelectorAll(".pp-roll[id$='-roll']").forEach((roll) => {
      place(roll).catch(() => {});
    });
    requestAnimationFrame(tick);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => requestAnimationFrame(tick));
  } else {
    requestAnimationFrame(tick);
  }
})();
