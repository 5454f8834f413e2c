"""What a notebook shows: plain HTML that persists in the saved ``.ipynb``.

``html`` renders results, the timing bar and tables; ``grid`` renders sweep comparison grids;
``preview`` makes notebook-only downscales. This wing reads settings, never the kernel's session.
"""
