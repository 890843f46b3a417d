// Proves the page works as served: this script ran (a JavaScript type), the
// stylesheet applied, every image decoded, and a Range request returned the
// first bytes of an image. The result is written into #status.
const status = document.getElementById("status");
status.textContent = "JavaScript ran.";
status.className = "ran";

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
