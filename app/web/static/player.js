// lynkflow test player: the browser's own <video>. HLS where the browser plays it natively
// (canPlayType), the progressive MP4 otherwise. No player library, nothing from a CDN.
//
// A browser's native HLS starts on the lowest rendition and climbs slowly, so a short clip plays
// blocky from start to end. The player reads the master playlist itself and plays the rendition the
// window needs: the smallest whose height covers the player's height in device pixels (the highest
// when none does). A local emulator has no bandwidth to adapt to, so the choice holds.
// The MP4 fallback is the highest rendition already.
"use strict";

(function () {
  const video = document.getElementById("player");
  if (!video) return;
  const hls = video.dataset.hls, mp4 = video.dataset.mp4;
  // ?source=mp4 or ?source=hls forces one (a lynkflow convenience for comparing the two).
  const forced = new URLSearchParams(location.search).get("source");
  const nativeHls = forced === "hls" ? Boolean(hls)
    : forced === "mp4" ? !mp4 && Boolean(hls)
    : Boolean(hls) && video.canPlayType("application/vnd.apple.mpegurl") !== "";
  video.dataset.source = nativeHls ? "hls" : (mp4 ? "mp4" : "hls");
  const kind = document.getElementById("source-kind");
  const url = document.getElementById("source-url");

  function play(src, label) {
    video.src = src;
    if (kind) kind.textContent = label;
    if (url) url.textContent = src;
    // Muted autoplay is allowed everywhere; a refused play() just leaves the controls to the user.
    const started = video.play();
    if (started && started.catch) started.catch(() => {});
  }

  // [{height, bandwidth, uri}] of a master playlist; URIs resolved against its URL.
  function variants(text, base) {
    const out = [];
    let pending = null;
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line.startsWith("#EXT-X-STREAM-INF:")) {
        const res = /RESOLUTION=(\d+)x(\d+)/.exec(line), bw = /BANDWIDTH=(\d+)/.exec(line);
        pending = { height: res ? Number(res[2]) : 0, bandwidth: bw ? Number(bw[1]) : 0 };
      } else if (line && !line.startsWith("#") && pending) {
        out.push({ ...pending, uri: new URL(line, base).href });
        pending = null;
      }
    }
    return out;
  }

  function pick(list, needed) {
    const byHeight = [...list].sort((a, b) => a.height - b.height || a.bandwidth - b.bandwidth);
    return byHeight.find((v) => v.height >= needed) || byHeight[byHeight.length - 1];
  }

  if (!nativeHls) {
    video.dataset.level = mp4 ? "mp4" : "auto";
    play(mp4 || hls, mp4 ? "progressive MP4" : "HLS");
    return;
  }
  const master = new URL(hls, location.href).href;
  fetch(master, { cache: "no-store" })
    .then((resp) => (resp.ok ? resp.text() : Promise.reject(new Error(`HTTP ${resp.status}`))))
    .then((text) => {
      const list = variants(text, master);
      if (!list.length) throw new Error("no variants");
      const needed = Math.round((video.clientHeight || window.innerHeight) * (window.devicePixelRatio || 1));
      const chosen = pick(list, needed);
      video.dataset.level = String(chosen.height);
      video.dataset.levels = list.map((v) => v.height).join(",");
      play(chosen.uri, `HLS (native), ${chosen.height}p of ${video.dataset.levels}`);
    })
    .catch(() => {  // a playlist the page cannot read: let the browser choose from the master
      video.dataset.level = "auto";
      play(master, "HLS (native)");
    });
})();
