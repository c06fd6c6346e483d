//! The run report: one self-contained HTML file (and a PDF through headless Chromium).
