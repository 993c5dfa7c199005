"""Interoperability adapters (issue 14): FHIR R4B in and out, beside the CLI and the web app.

They use the core (intake, knowledge base, units) and the rendered advice document; the core
never imports them.
"""
