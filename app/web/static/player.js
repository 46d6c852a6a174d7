// lynkflow test player: the browser's own <video>. HLS where the browser plays it natively
// (canPlayType), the progressive MP4 otherwise. No player library, nothing from a CDN.
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
  const src = nativeHls ? hls : (mp4 || hls);
  video.dataset.source = nativeHls ? "hls" : (mp4 ? "mp4" : "hls");
  video.src = src;
  const kind = document.getElementById("source-kind");
  const url = document.getElementById("source-url");
  if (kind) kind.textContent = nativeHls ? "HLS (native)" : (mp4 ? "progressive MP4" : "HLS");
  if (url) url.textContent = src;
  // Muted autoplay is allowed everywhere; a refused play() just leaves the controls to the user.
  const started = video.play();
  if (started && started.catch) started.catch(() => {});
})();
