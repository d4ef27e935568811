// klbook site script (loaded on every page through html_js_files in _config.yml).
// The theme reads the colour mode from localStorage and, in a browser that never chose
// one, gets "" and logs a console error before falling back to "auto". Start from
// "auto" directly.
if (!["light", "dark", "auto"].includes(document.documentElement.dataset.mode)) {
  document.documentElement.dataset.mode = "auto";
}
