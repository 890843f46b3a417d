// Proves the page works as served: this script ran (a JavaScript type), the
// stylesheet applied, every image decoded, and a Range request returned the
// first bytes of an image. The result is written into #status.
//
// The video is seeked to 3 s: once `seeked` fired and the frame there is
// ready (readyState >= 2), #video-status says so, with the HTTP statuses the
// browser got for the video (206 when it was fetched by ranges).
const status = document.getElementById("status");
status.textContent = "JavaScript ran.";
status.className = "ran";

const SEEK_TO = 3;

function videoStatuses() {
  return performance.getEntriesByType("resource")
    .filter((e) => e.name.endsWith("/media/clock.webm"))
    .map((e) => e.responseStatus);
}

function reportSeek(video, line) {
  const frame = video.readyState >= 2 ? "frame ready" : `readyState ${video.readyState}`;
  const codes = [...new Set(videoStatuses())].join("/") || "none";
  line.textContent = `video seeked to ${video.currentTime.toFixed(1)} s, ${frame}, ` +
    `HTTP ${codes}.`;
  line.className = video.readyState >= 2 ? "ran" : "";
}

function seekVideo() {
  const video = document.getElementById("clock");
  const line = document.getElementById("video-status");
  if (!video) return;
  video.addEventListener("seeked", () => {
    if (video.readyState >= 2) reportSeek(video, line);
    else video.addEventListener("loadeddata", () => reportSeek(video, line), { once: true });
  }, { once: true });
  video.addEventListener("error", () => {
    line.textContent = `video error ${video.error ? video.error.code : "?"}.`;
  });
  const seek = () => { video.currentTime = SEEK_TO; };
  if (video.readyState >= 1) seek();
  else video.addEventListener("loadedmetadata", seek, { once: true });
}

seekVideo();

window.addEventListener("load", async () => {
  const css = getComputedStyle(document.body).maxWidth === "640px";
  const images = [...document.images].filter((i) => i.complete && i.naturalWidth > 0);
  let range = "no";
  try {
    const r = await fetch("/img/pixel.png", { headers: { Range: "bytes=1-3" } });
    const bytes = new Uint8Array(await r.arrayBuffer());
    range = r.status === 206 && String.fromCharCode(...bytes) === "PNG" ? "yes" : "no";
  } catch (e) {
    range = "error";
  }
  status.textContent = `JavaScript ran; css ${css ? "yes" : "no"}; ` +
    `images ${images.length}/${document.images.length}; range ${range}.`;
});
