// One plotly.js per page, whoever asks first: the page's first element (plot.preload_html,
// so the browser fetches and evaluates it while the rest of the page arrives) or a chart.
function loadPlotly(url) {
  window.__gruVizPlotly ||= new Promise((resolve, reject) => {
    if (window.Plotly) return resolve(window.Plotly);
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error("could not load plotly.js from " + url));
    document.head.appendChild(script);
  });
  return window.__gruVizPlotly;
}
