// Hide a widget's static picture where the widget itself renders (and ask for fresh state).
//
// labkit.viz._base.Widget.display() writes the picture as a second output, wrapped in
// <div class="labkit-fallback labkit-fallback-KEY">, so that nbconvert's HTML export and other
// viewers without a widget manager show it.  Where this front-end runs, a style rule in the
// document head hides that output (and keeps hiding it when the kernel refreshes it in place).
// A class, not an id or data attribute, because notebook sanitizers keep classes.
const rules = new Map();   // key -> [style element, number of live views]

export function hideFallback(model) {
  // Every view also asks the kernel for the current state on render: front-ends without
  // IPython's display path and end-of-cell hook (marimo) would otherwise miss what was logged
  // or throttled since the last sync (labkit.viz._base.Widget._on_sync_request).
  try { model.send({ type: "sync" }); } catch (e) { /* no kernel: the saved state is all */ }
  const key = model.get("_fallback_key");
  if (!key || !/^[0-9a-f]+$/.test(key) || typeof document === "undefined") return () => {};
  let entry = rules.get(key);
  if (!entry) {
    const style = document.createElement("style");
    style.dataset.labkitFallback = key;
    style.textContent = `.labkit-fallback-${key}{display:none!important}` +
      `.jp-OutputArea-child:has(.labkit-fallback-${key}){display:none!important}`;
    document.head.appendChild(style);
    entry = [style, 0];
    rules.set(key, entry);
  }
  entry[1] += 1;
  return () => {
    entry[1] -= 1;
    if (entry[1] <= 0) { entry[0].remove(); rules.delete(key); }
  };
}
