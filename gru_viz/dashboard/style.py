"""Page-wide styling Streamlit has no setting for: room on a 1080p projector, readable captions,
and the sidebar tucked away on a laptop-sized window.

Selectors are Streamlit's own test ids (stable across releases, the ones its tests use). The
browser tests check the effects: the first chart within a 1920x1080 screen with a lesson open,
and a collapsed sidebar at 800 px.
"""

from __future__ import annotations

import streamlit as st

from gru_viz.dashboard.plot import preload_html

# Below this window width the sidebar starts collapsed (Streamlit's own "auto" does so only at
# 768 px and below, which leaves an 800 px laptop with a 500 px page).
NARROW_PX = 1000

CSS = """
<style>
/* Streamlit leaves 6rem above the title: on a projector that pushes the charts off screen. */
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; padding-bottom: 3rem; }
[data-testid="stMain"] h1 { font-size: 2.1rem; padding-bottom: 0.25rem; }
/* Captions are how each chart is read: full contrast (on light and dark themes alike). */
[data-testid="stCaptionContainer"] { color: inherit; opacity: 0.85; font-size: 0.95rem; }
</style>
"""

# Runs once per browser tab (sessionStorage), and only if the reader never chose a sidebar
# state themselves (Streamlit remembers that choice in localStorage).
COLLAPSE_WHEN_NARROW = f"""
<script>
(() => {{
  if (sessionStorage.getItem("gru-viz-sidebar-checked")) return;
  sessionStorage.setItem("gru-viz-sidebar-checked", "1");
  const chosen = Object.keys(localStorage).some(k => k.startsWith("stSidebarCollapsed-"));
  if (chosen || window.innerWidth >= {NARROW_PX}) return;
  const collapse = () => {{
    const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    const open = document.querySelector('[data-testid="stSidebar"][data-collapsed="false"]');
    if (button && open) button.click();
    return Boolean(button);
  }};
  if (!collapse()) {{
    const watch = new MutationObserver(() => {{ if (collapse()) watch.disconnect(); }});
    watch.observe(document.body, {{ childList: true, subtree: true }});
    setTimeout(() => watch.disconnect(), 20000);
  }}
}})();
</script>
"""


# Readable from the back of a room at 1920x1080: everything in rem grows with the root font, and
# the sidebar (settings a class does not need to see) goes.
PROJECTOR_CSS = """
<style>
html { font-size: 125%; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] { display: none; }
[data-testid="stMainBlockContainer"] { max-width: none; padding-left: 2rem; padding-right: 2rem; }
</style>
"""


def apply(projector: bool = False) -> None:
    css = CSS + (PROJECTOR_CSS if projector else "")
    st.html(css + COLLAPSE_WHEN_NARROW + preload_html(), unsafe_allow_javascript=True)
