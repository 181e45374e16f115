"""Service KPIs from helpdesk and survey exports, paired with sentiment.

- :mod:`connectors.csvfile` (shared with ``import``) opens an export (encoding, BOM, zip,
  delimiter) and streams its rows with line numbers.
- :mod:`monitor.kpi.formats` maps each tool's columns (Zendesk, Freshdesk,
  Intercom, Help Scout, generic CSVs) to the normalised records of
  :mod:`monitor.kpi.records`, keeping the raw row; ``detect`` picks the format
  from the header.
- :mod:`monitor.kpi.importer` writes a whole file in one transaction.
- :mod:`monitor.kpi.formulas` holds the KPI formulas as pure functions;
  :mod:`monitor.kpi.report` computes them per day or week with the change
  against the previous period.
"""
