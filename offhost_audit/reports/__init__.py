"""Reports: the console table (``console``) and the report files rendered from Jinja2 templates.

``from offhost_audit.reports.render import render, parse_formats, FORMATS`` renders a stored
``history.Run`` to html, md, junit, sarif, csv, json (see ``render.py``); ``context.build`` is what
every template gets. Templates live in ``reports/templates/*.j2`` (package data).
"""
