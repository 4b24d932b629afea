"""The Streamlit page: the only package of gru_viz that imports streamlit.

``boot`` draws the title and a placeholder before torch is imported; ``page.main`` builds the
rest from one module per panel. Everything else in gru_viz runs headless.
"""
