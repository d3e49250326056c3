"""The web UI's stylesheet (class names are those written by `app.web.render`)."""

CSS = """
.cw-transcript { display: flex; flex-direction: column; gap: 12px; padding: 4px 2px; }
.cw-empty { color: var(--body-text-color-subdued); padding: 12px; line-height: 1.5; }
.cw-msg { border-radius: 12px; padding: 10px 14px; max-width: 94%; line-height: 1.6;
          border: 1px solid var(--border-color-primary); }
.cw-user { align-self: flex-end; background: var(--color-accent-soft); }
.cw-bot { align-self: flex-start; background: var(--block-background-fill); }
.cw-query { font-size: 0.82em; color: var(--body-text-color-subdued); margin-top: 4px; }
.cw-query::before { content: "↳ "; }
.cw-abstain { background: #fff8e6; border: 1px dashed #d99a00; color: #6b4400; }
.cw-abstain-text { font-weight: 600; }
.cw-hint { font-size: 0.88em; margin-top: 4px; }
.cw-error { background: #fdeeee; border-color: #d93036; color: #7d1418; }
.cw-typing { letter-spacing: 2px; color: var(--body-text-color-subdued); }
.cw-cite { position: relative; display: inline-block; margin-left: 2px; font-weight: 600;
           font-size: 0.85em; text-decoration: none; color: var(--color-accent);
           cursor: pointer; }
.cw-cite:hover, .cw-cite:focus-visible { text-decoration: underline; }
.cw-pop { display: none; position: absolute; z-index: 1000; left: 0; top: 1.5em;
          width: min(30rem, 70vw); padding: 10px 12px; border-radius: 8px;
          background: var(--background-fill-primary); color: var(--body-text-color);
          border: 1px solid var(--border-color-primary); box-shadow: 0 6px 24px #0003;
          font-weight: 400; font-size: 0.95rem; line-height: 1.5; white-space: normal;
          text-align: left; }
.cw-cite:hover .cw-pop, .cw-cite:focus-visible .cw-pop { display: block; }
.cw-pop-title { display: block; font-weight: 600; margin-bottom: 4px; }
.cw-pop-passage { display: block; max-height: 14em; overflow: auto; }
mark.cw-quote { background: #ffe58a; color: #1f1a00; padding: 0 2px; border-radius: 2px; }
.cw-sources { display: flex; flex-direction: column; gap: 10px; }
.cw-source-q { font-weight: 600; margin: 6px 0 2px; color: var(--body-text-color-subdued); }
.cw-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
             padding: 8px 12px; scroll-margin-top: 24px; }
.cw-source:target { outline: 3px solid var(--color-accent); background: var(--color-accent-soft); }
.cw-source:target mark.cw-quote { background: #ffd21f; }
.cw-source-head { font-weight: 600; }
.cw-n { color: var(--color-accent); }
.cw-source-meta { font-size: 0.82em; color: var(--body-text-color-subdued); margin: 2px 0 6px; }
.cw-passage { margin: 0; padding-left: 10px; border-left: 3px solid var(--border-color-primary);
              line-height: 1.55; white-space: pre-wrap; }
.cw-docs { width: 100%; border-collapse: collapse; }
.cw-docs th, .cw-docs td { text-align: left; padding: 6px 8px;
                           border-bottom: 1px solid var(--border-color-primary); }
.cw-docs .cw-num { text-align: right; }
.cw-status { padding: 8px 12px; border-radius: 8px; margin: 4px 0; }
.cw-status-ok { background: #ecf8ef; color: #14532d; }
.cw-status-error { background: #fdeeee; color: #7d1418; }
.cw-errors { margin: 4px 0 0 18px; }
.cw-draft { border-style: dashed; }
.cw-checking { font-size: 0.85em; font-weight: 600; color: var(--body-text-color-subdued);
               margin-bottom: 4px; }
.cw-spinner { display: inline-block; width: 0.7em; height: 0.7em; margin-right: 6px;
              border-radius: 50%; background: var(--color-accent);
              animation: cw-pulse 1s ease-in-out infinite alternate; }
@keyframes cw-pulse { from { opacity: 0.25; } to { opacity: 1; } }
.cw-draft-text { color: var(--body-text-color-subdued); white-space: pre-wrap; }
.cw-badge { display: inline-block; margin-left: 3px; font-size: 0.78em; font-weight: 600;
            border-radius: 6px; padding: 0 4px; vertical-align: baseline; }
.cw-badge-ok { color: #14532d; background: #dcf5e3; }
.cw-badge-removed { color: #7d1418; background: #fdeeee; }
del.cw-removed { color: var(--body-text-color-subdued); text-decoration: line-through; }
.cw-checked { font-size: 0.82em; color: var(--body-text-color-subdued); margin-top: 6px; }
.cw-source-changed .cw-source { border-style: dashed; opacity: 0.85; }
.cw-changed { font-size: 0.82em; font-weight: 600; color: #6b4400; margin: 4px 0 2px; }
.cw-note { font-size: 0.9em; margin-bottom: 6px; padding: 4px 8px; border-radius: 6px;
           background: #eef4fd; color: #1d3a6b; }
"""
