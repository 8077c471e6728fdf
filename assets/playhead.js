// The piano roll's playhead: a vertical line over each roll picture (class "pp-roll", id
// "NAME-roll") that follows its audio player (id "NAME-audio") while it plays.
// The time scale comes from the PNG itself: pianoplay.plot.roll_png writes a text chunk
// "pianoplay" = {"left", "px_step", "steps", "step_seconds", "top", "bottom"}, so step t
// starts at x = left + t * px_step in the picture's own pixels. Served inline by app.py.
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
    const zoom = img.clientWidth / img.naturalWidth; // the picture may be shown scaled
    line.style.left = `${img.offsetLeft + (scale.left + step * scale.px_step) * zoom}px`;
    line.style.top = `${img.offsetTop + scale.top * zoom}px`;
    line.style.height = `${(scale.bottom - scale.top) * zoom}px`;
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
