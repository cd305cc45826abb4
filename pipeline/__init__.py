"""wirewatch: news ingestion and alerting for export controls and the chip trade.

The stages live in one module each and pass frozen dataclasses (``pipeline.types``)
to one another::

    fetch  -> parse -> extract -> dedupe -> match -> store -> alert

``pipeline.run`` wires them into one cycle; ``pipeline.cli`` is the thin command line.
"""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/wirewatch/wirewatch"
